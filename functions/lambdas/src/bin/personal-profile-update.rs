//! Lambda for `PUT /api/personal/profile`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::UpdateProfile).await
}
