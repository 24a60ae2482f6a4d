//! Lambda for `POST /api/clinic/staff/invitations/accept`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::AcceptInvitation).await
}
