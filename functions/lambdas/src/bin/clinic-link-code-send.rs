//! Lambda for `POST /api/clinic/patients/{patient_id}/link/code/send`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::SendLinkCode).await
}
