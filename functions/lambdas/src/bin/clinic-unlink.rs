//! Lambda for `DELETE /api/clinic/patients/{patient_id}/link`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::Unlink).await
}
