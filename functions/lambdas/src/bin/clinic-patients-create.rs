//! Lambda for `POST /api/clinic/patients`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::CreatePatient).await
}
