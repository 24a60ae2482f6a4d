//! Lambda for `POST /api/personal/signin`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::PersonalSignIn).await
}
