//! The one Lambda binary. Every function of `template.yaml` runs it; the function's `GLUCOLINK_ROUTE`
//! names the route it serves (a `RouteId::lambda_name`), or the operator's command it runs
//! (`operator-clinic-invite`). SAM builds it once for all functions, as their build definitions are
//! the same.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let name = std::env::var("GLUCOLINK_ROUTE").map_err(|_| "GLUCOLINK_ROUTE is not set")?;
    if name == glucolink_lambdas::operator::CLINIC_INVITE {
        return glucolink_lambdas::run_clinic_invite().await;
    }
    let route = glucolink_api::RouteId::from_lambda_name(&name)
        .ok_or_else(|| format!("GLUCOLINK_ROUTE={name} names no deployed route"))?;
    glucolink_lambdas::run(route).await
}
