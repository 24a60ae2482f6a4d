//! Lambda for `GET /api/personal/sharing`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::Sharing).await
}
