//! Lambda for `GET /api/personal/upload-tokens`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::ListUploadTokens).await
}
