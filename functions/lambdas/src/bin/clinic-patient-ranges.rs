//! Lambda for `PUT /api/clinic/patients/{patient_id}/ranges`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::SetPatientRanges).await
}
