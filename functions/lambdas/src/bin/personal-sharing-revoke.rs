//! Lambda for `DELETE /api/personal/sharing/{clinic_id}`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::RevokeClinic).await
}
