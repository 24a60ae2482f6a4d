//! Lambda for `GET /api/clinic/staff`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::ListStaff).await
}
