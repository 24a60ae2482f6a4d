//! Lambda for `POST /api/personal/upload-tokens`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::CreateUploadToken).await
}
