//! Lambda for `POST /api/personal/sharing/decline`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::DeclineLink).await
}
