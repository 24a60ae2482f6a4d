//! Lambda for `DELETE /api/clinic/staff/{user_id}`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    glucolink_lambdas::run(glucolink_api::RouteId::RemoveStaff).await
}
