//! Lambda for `POST /api/personal/uploads`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::Upload).await
}
