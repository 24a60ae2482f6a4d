//! Lambda for `GET /api/personal/audit`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::PersonalAudit).await
}
