//! Lambda for `DELETE /api/personal/upload-tokens/{token_id}`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::RevokeUploadToken).await
}
