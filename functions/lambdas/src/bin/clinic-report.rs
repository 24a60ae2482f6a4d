//! Lambda for `GET /api/clinic/patients/{patient_id}/report`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::ClinicReport).await
}
