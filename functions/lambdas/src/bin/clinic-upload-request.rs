//! Lambda for `POST /api/clinic/patients/{patient_id}/upload-request`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::RequestUpload).await
}
