//! Lambda for `DELETE /api/clinic/patients/{patient_id}/link/code`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::CancelLinkCode).await
}
