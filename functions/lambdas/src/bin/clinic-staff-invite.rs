//! Lambda for `POST /api/clinic/staff/invitations`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::InviteStaff).await
}
