//! Lambda for `PUT /api/clinic/settings`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::UpdateClinicSettings).await
}
