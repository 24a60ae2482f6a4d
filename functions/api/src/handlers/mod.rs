//! Handlers, one module per feature. `dispatch` maps each route to its handler: the only `match` on routes.

mod accounts;

use bytes::Bytes;
use http::Request;

use crate::app::App;
use crate::error::ApiError;
use crate::routes::{PathParams, RouteId};
use crate::wire::Reply;

pub async fn dispatch(
    app: &App,
    id: RouteId,
    _params: &PathParams,
    request: &Request<Bytes>,
) -> Result<Reply, ApiError> {
    match id {
        RouteId::ClinicSignUp => accounts::clinic_sign_up(app, request).await,
        RouteId::ClinicSignIn => accounts::clinic_sign_in(app, request).await,
        RouteId::PersonalSignUp => accounts::personal_sign_up(app, request).await,
        RouteId::PersonalSignIn => accounts::personal_sign_in(app, request).await,
        RouteId::SignOut => accounts::sign_out(app, request).await,
        RouteId::Me => accounts::me(app, request).await,
    }
}
