//! Lambda for `POST /api/clinic/patients/{patient_id}/link/credentials`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::LinkWithCredentials).await
}
