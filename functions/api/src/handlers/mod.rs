//! Handlers, one module per feature. `dispatch` maps each route to its handler: the only `match` on routes.

mod accounts;
mod contacts;
mod exports;
mod linking;
mod outbox;
mod passkeys;
mod passwords;
mod patients;
pub mod print;
mod reports;
mod sharing;
mod staff;
mod uploads;

use bytes::Bytes;
use http::Request;

use crate::app::App;
use crate::error::ApiError;
use crate::routes::{PathParams, RouteId};
use crate::wire::Reply;

pub async fn dispatch(
    app: &App,
    id: RouteId,
    params: &PathParams,
    request: &Request<Bytes>,
) -> Result<Reply, ApiError> {
    match id {
        RouteId::ClinicSignUp => accounts::clinic_sign_up(app, request).await,
        RouteId::ClinicSignIn => accounts::clinic_sign_in(app, request).await,
        RouteId::PersonalSignUp => accounts::personal_sign_up(app, request).await,
        RouteId::PersonalSignIn => accounts::personal_sign_in(app, request).await,
        RouteId::SignOut => accounts::sign_out(app, request).await,
        RouteId::ClinicPasswordReset => passwords::clinic(app, request).await,
        RouteId::PersonalPasswordReset => passwords::personal(app, request).await,
        RouteId::CompletePasswordReset => passwords::complete(app, request).await,
        RouteId::VerifyClinicEmail => accounts::verify_clinic_email(app, request).await,
        RouteId::ResendClinicVerification => accounts::resend_verification(app, request).await,
        RouteId::SignInSecondFactor => accounts::second_factor(app, request).await,
        RouteId::StartTotp => accounts::start_totp(app, request).await,
        RouteId::ConfirmTotp => accounts::confirm_totp(app, request).await,
        RouteId::RemoveTotp => accounts::remove_totp(app, request).await,
        RouteId::ExportPersonalData => exports::personal_data(app, request).await,
        RouteId::DeletePersonalAccount => accounts::delete_personal_account(app, request).await,
        RouteId::CancelInvitation => staff::cancel_invitation(app, request).await,
        RouteId::DeletePatient => patients::delete(app, request, params).await,
        RouteId::StartPasskeyRegistration => passkeys::start_registration(app, request).await,
        RouteId::AddPasskey => passkeys::add(app, request).await,
        RouteId::ListPasskeys => passkeys::list(app, request).await,
        RouteId::RemovePasskey => passkeys::remove(app, request, params).await,
        RouteId::StartPasskeySignIn => passkeys::start_sign_in(app, request).await,
        RouteId::PasskeySignIn => passkeys::sign_in(app, request).await,
        RouteId::ArchivePatient => patients::set_archived(app, request, params).await,
        RouteId::VerifyContact => contacts::verify(app, request).await,
        RouteId::ResendContactVerification => contacts::resend(app, request).await,
        RouteId::ChangeContacts => contacts::change(app, request).await,
        RouteId::Me => accounts::me(app, request).await,
        RouteId::ListPatients => patients::list(app, request).await,
        RouteId::CreatePatient => patients::create(app, request).await,
        RouteId::PatientProfile => patients::profile(app, request, params).await,
        RouteId::CorrectPatient => patients::correct(app, request, params).await,
        RouteId::ClinicAudit => patients::clinic_audit(app, request).await,
        RouteId::LinkWithCredentials => linking::with_credentials(app, request, params).await,
        RouteId::GenerateLinkCode => linking::generate_code(app, request, params).await,
        RouteId::CancelLinkCode => linking::cancel_code(app, request, params).await,
        RouteId::Unlink => linking::unlink(app, request, params).await,
        RouteId::PreviewLinkCode => sharing::preview(app, request).await,
        RouteId::AcceptLink => sharing::accept(app, request).await,
        RouteId::DeclineLink => sharing::decline(app, request).await,
        RouteId::Sharing => sharing::list(app, request).await,
        RouteId::RevokeClinic => sharing::revoke(app, request, params).await,
        RouteId::PersonalAudit => sharing::audit_log(app, request).await,
        RouteId::SendLinkCode => linking::send_code(app, request, params).await,
        RouteId::PrintLinkCode => linking::print_code(app, request, params).await,
        RouteId::RequestUpload => linking::request_upload(app, request, params).await,
        RouteId::DevOutbox => outbox::list(app, request).await,
        RouteId::InviteStaff => staff::invite(app, request).await,
        RouteId::ListStaff => staff::list(app, request).await,
        RouteId::RemoveStaff => staff::remove(app, request, params).await,
        RouteId::PreviewInvitation => staff::preview_invitation(app, request).await,
        RouteId::AcceptInvitation => staff::accept_invitation(app, request).await,
        RouteId::JoinClinic => staff::join_clinic(app, request).await,
        RouteId::SwitchClinic => staff::switch_clinic(app, request).await,
        RouteId::UpdateClinicSettings => staff::update_settings(app, request).await,
        RouteId::Upload => uploads::upload(app, request).await,
        RouteId::CreateUploadToken => uploads::create_token(app, request).await,
        RouteId::ListUploadTokens => uploads::list_tokens(app, request).await,
        RouteId::RevokeUploadToken => uploads::revoke_token(app, request, params).await,
        RouteId::UpdateProfile => accounts::update_profile(app, request).await,
        RouteId::ClinicReport => reports::clinic(app, request, params).await,
        RouteId::PersonalReport => reports::personal(app, request).await,
        RouteId::ClinicOverview => reports::clinic_overview(app, request, params).await,
        RouteId::PersonalOverview => reports::personal_overview(app, request).await,
        RouteId::ExportPatients => exports::patient_list(app, request).await,
        RouteId::ExportPatientData => exports::patient_data(app, request, params).await,
        RouteId::BatchPrint => exports::batch_print(app, request).await,
        RouteId::SetPatientRanges => patients::set_ranges(app, request, params).await,
    }
}
