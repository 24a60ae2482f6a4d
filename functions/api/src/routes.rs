//! The route table: the one list of every HTTP route. The router, the Lambdas (one per route),
//! `template.yaml` and `docs/openapi.yaml` all follow it; `tests/integration/route_sync.rs` checks that.

use http::Method;

/// Every user action, one per route. A Lambda binary is named after [`RouteId::lambda_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteId {
    ClinicSignUp,
    ClinicSignIn,
    PersonalSignUp,
    PersonalSignIn,
    SignOut,
    Me,
    ListPatients,
    CreatePatient,
    PatientProfile,
    LinkWithCredentials,
    GenerateLinkCode,
    CancelLinkCode,
    Unlink,
    ClinicAudit,
    PreviewLinkCode,
    AcceptLink,
    DeclineLink,
    Sharing,
    RevokeClinic,
    PersonalAudit,
    SendLinkCode,
    PrintLinkCode,
    RequestUpload,
    DevOutbox,
    InviteStaff,
    ListStaff,
    RemoveStaff,
    PreviewInvitation,
    AcceptInvitation,
    UpdateClinicSettings,
    Upload,
    CreateUploadToken,
    ListUploadTokens,
    RevokeUploadToken,
    UpdateProfile,
    ClinicReport,
    PersonalReport,
    ClinicOverview,
    PersonalOverview,
    ExportPatients,
    ExportPatientData,
    BatchPrint,
    SetPatientRanges,
    CorrectPatient,
    ClinicPasswordReset,
    PersonalPasswordReset,
    CompletePasswordReset,
    VerifyClinicEmail,
    ResendClinicVerification,
    SignInSecondFactor,
    StartTotp,
    ConfirmTotp,
    RemoveTotp,
    ExportPersonalData,
    DeletePersonalAccount,
    CancelInvitation,
    DeletePatient,
    StartPasskeyRegistration,
    AddPasskey,
    ListPasskeys,
    RemovePasskey,
    StartPasskeySignIn,
    PasskeySignIn,
    ArchivePatient,
    VerifyContact,
    ResendContactVerification,
    ChangeContacts,
    JoinClinic,
    SwitchClinic,
}

/// One entry of the table.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub id: RouteId,
    pub method: &'static str,
    /// A path template; `{name}` segments are parameters.
    pub path: &'static str,
    /// Whether the route exists only in the local server (never deployed).
    pub local_only: bool,
}

/// The table. Add a route here, then its handler in [`crate::app`], its Lambda in `functions/lambdas`,
/// its entry in `template.yaml` and in `docs/openapi.yaml`.
pub const ROUTES: &[Route] = &[
    Route {
        id: RouteId::ClinicSignUp,
        method: "POST",
        path: "/api/clinic/signup",
        local_only: false,
    },
    Route {
        id: RouteId::ClinicSignIn,
        method: "POST",
        path: "/api/clinic/signin",
        local_only: false,
    },
    Route {
        id: RouteId::PersonalSignUp,
        method: "POST",
        path: "/api/personal/signup",
        local_only: false,
    },
    Route {
        id: RouteId::PersonalSignIn,
        method: "POST",
        path: "/api/personal/signin",
        local_only: false,
    },
    Route {
        id: RouteId::ClinicPasswordReset,
        method: "POST",
        path: "/api/clinic/password-reset",
        local_only: false,
    },
    Route {
        id: RouteId::PersonalPasswordReset,
        method: "POST",
        path: "/api/personal/password-reset",
        local_only: false,
    },
    Route {
        id: RouteId::CompletePasswordReset,
        method: "POST",
        path: "/api/password-reset",
        local_only: false,
    },
    Route {
        id: RouteId::VerifyClinicEmail,
        method: "POST",
        path: "/api/clinic/verify-email",
        local_only: false,
    },
    Route {
        id: RouteId::ResendClinicVerification,
        method: "POST",
        path: "/api/clinic/verification-email",
        local_only: false,
    },
    Route {
        id: RouteId::SignInSecondFactor,
        method: "POST",
        path: "/api/signin/second-factor",
        local_only: false,
    },
    Route {
        id: RouteId::StartTotp,
        method: "POST",
        path: "/api/me/totp",
        local_only: false,
    },
    Route {
        id: RouteId::RemoveTotp,
        method: "DELETE",
        path: "/api/me/totp",
        local_only: false,
    },
    Route {
        id: RouteId::StartPasskeyRegistration,
        method: "POST",
        path: "/api/me/passkeys/options",
        local_only: false,
    },
    Route {
        id: RouteId::AddPasskey,
        method: "POST",
        path: "/api/me/passkeys",
        local_only: false,
    },
    Route {
        id: RouteId::ListPasskeys,
        method: "GET",
        path: "/api/me/passkeys",
        local_only: false,
    },
    Route {
        id: RouteId::RemovePasskey,
        method: "DELETE",
        path: "/api/me/passkeys/{passkey_id}",
        local_only: false,
    },
    Route {
        id: RouteId::StartPasskeySignIn,
        method: "POST",
        path: "/api/signin/passkey/options",
        local_only: false,
    },
    Route {
        id: RouteId::PasskeySignIn,
        method: "POST",
        path: "/api/signin/passkey",
        local_only: false,
    },
    Route {
        id: RouteId::ConfirmTotp,
        method: "POST",
        path: "/api/me/totp/confirm",
        local_only: false,
    },
    Route {
        id: RouteId::ExportPersonalData,
        method: "GET",
        path: "/api/personal/export",
        local_only: false,
    },
    Route {
        id: RouteId::DeletePersonalAccount,
        method: "DELETE",
        path: "/api/personal/account",
        local_only: false,
    },
    Route {
        id: RouteId::CancelInvitation,
        method: "POST",
        path: "/api/clinic/staff/invitations/cancel",
        local_only: false,
    },
    Route {
        id: RouteId::VerifyContact,
        method: "POST",
        path: "/api/personal/verify-contact",
        local_only: false,
    },
    Route {
        id: RouteId::ResendContactVerification,
        method: "POST",
        path: "/api/personal/contact-verification",
        local_only: false,
    },
    Route {
        id: RouteId::ChangeContacts,
        method: "PUT",
        path: "/api/personal/contact",
        local_only: false,
    },
    Route {
        id: RouteId::ArchivePatient,
        method: "PUT",
        path: "/api/clinic/patients/{patient_id}/archived",
        local_only: false,
    },
    Route {
        id: RouteId::DeletePatient,
        method: "DELETE",
        path: "/api/clinic/patients/{patient_id}",
        local_only: false,
    },
    Route {
        id: RouteId::SignOut,
        method: "POST",
        path: "/api/signout",
        local_only: false,
    },
    Route {
        id: RouteId::Me,
        method: "GET",
        path: "/api/me",
        local_only: false,
    },
    Route {
        id: RouteId::ExportPatients,
        method: "GET",
        path: "/api/clinic/patients/export.csv",
        local_only: false,
    },
    Route {
        id: RouteId::ListPatients,
        method: "GET",
        path: "/api/clinic/patients",
        local_only: false,
    },
    Route {
        id: RouteId::CreatePatient,
        method: "POST",
        path: "/api/clinic/patients",
        local_only: false,
    },
    Route {
        id: RouteId::PatientProfile,
        method: "GET",
        path: "/api/clinic/patients/{patient_id}",
        local_only: false,
    },
    Route {
        id: RouteId::LinkWithCredentials,
        method: "POST",
        path: "/api/clinic/patients/{patient_id}/link/credentials",
        local_only: false,
    },
    Route {
        id: RouteId::GenerateLinkCode,
        method: "POST",
        path: "/api/clinic/patients/{patient_id}/link/code",
        local_only: false,
    },
    Route {
        id: RouteId::CancelLinkCode,
        method: "DELETE",
        path: "/api/clinic/patients/{patient_id}/link/code",
        local_only: false,
    },
    Route {
        id: RouteId::Unlink,
        method: "DELETE",
        path: "/api/clinic/patients/{patient_id}/link",
        local_only: false,
    },
    Route {
        id: RouteId::ClinicAudit,
        method: "GET",
        path: "/api/clinic/audit",
        local_only: false,
    },
    Route {
        id: RouteId::PreviewLinkCode,
        method: "POST",
        path: "/api/personal/sharing/lookup",
        local_only: false,
    },
    Route {
        id: RouteId::AcceptLink,
        method: "POST",
        path: "/api/personal/sharing/accept",
        local_only: false,
    },
    Route {
        id: RouteId::DeclineLink,
        method: "POST",
        path: "/api/personal/sharing/decline",
        local_only: false,
    },
    Route {
        id: RouteId::Sharing,
        method: "GET",
        path: "/api/personal/sharing",
        local_only: false,
    },
    Route {
        id: RouteId::RevokeClinic,
        method: "DELETE",
        path: "/api/personal/sharing/{clinic_id}",
        local_only: false,
    },
    Route {
        id: RouteId::PersonalAudit,
        method: "GET",
        path: "/api/personal/audit",
        local_only: false,
    },
    Route {
        id: RouteId::SendLinkCode,
        method: "POST",
        path: "/api/clinic/patients/{patient_id}/link/code/send",
        local_only: false,
    },
    Route {
        id: RouteId::PrintLinkCode,
        method: "GET",
        path: "/api/clinic/patients/{patient_id}/link/code/print",
        local_only: false,
    },
    Route {
        id: RouteId::RequestUpload,
        method: "POST",
        path: "/api/clinic/patients/{patient_id}/upload-request",
        local_only: false,
    },
    Route {
        id: RouteId::DevOutbox,
        method: "GET",
        path: "/api/dev/outbox",
        local_only: true,
    },
    Route {
        id: RouteId::InviteStaff,
        method: "POST",
        path: "/api/clinic/staff/invitations",
        local_only: false,
    },
    Route {
        id: RouteId::ListStaff,
        method: "GET",
        path: "/api/clinic/staff",
        local_only: false,
    },
    Route {
        id: RouteId::RemoveStaff,
        method: "DELETE",
        path: "/api/clinic/staff/{user_id}",
        local_only: false,
    },
    Route {
        id: RouteId::PreviewInvitation,
        method: "POST",
        path: "/api/clinic/staff/invitations/lookup",
        local_only: false,
    },
    Route {
        id: RouteId::AcceptInvitation,
        method: "POST",
        path: "/api/clinic/staff/invitations/accept",
        local_only: false,
    },
    Route {
        id: RouteId::JoinClinic,
        method: "POST",
        path: "/api/clinic/staff/invitations/join",
        local_only: false,
    },
    Route {
        id: RouteId::SwitchClinic,
        method: "POST",
        path: "/api/me/clinic",
        local_only: false,
    },
    Route {
        id: RouteId::UpdateClinicSettings,
        method: "PUT",
        path: "/api/clinic/settings",
        local_only: false,
    },
    Route {
        id: RouteId::Upload,
        method: "POST",
        path: "/api/personal/uploads",
        local_only: false,
    },
    Route {
        id: RouteId::CreateUploadToken,
        method: "POST",
        path: "/api/personal/upload-tokens",
        local_only: false,
    },
    Route {
        id: RouteId::ListUploadTokens,
        method: "GET",
        path: "/api/personal/upload-tokens",
        local_only: false,
    },
    Route {
        id: RouteId::RevokeUploadToken,
        method: "DELETE",
        path: "/api/personal/upload-tokens/{token_id}",
        local_only: false,
    },
    Route {
        id: RouteId::UpdateProfile,
        method: "PUT",
        path: "/api/personal/profile",
        local_only: false,
    },
    Route {
        id: RouteId::ClinicReport,
        method: "GET",
        path: "/api/clinic/patients/{patient_id}/report",
        local_only: false,
    },
    Route {
        id: RouteId::PersonalReport,
        method: "GET",
        path: "/api/personal/report",
        local_only: false,
    },
    Route {
        id: RouteId::ClinicOverview,
        method: "GET",
        path: "/api/clinic/patients/{patient_id}/overview",
        local_only: false,
    },
    Route {
        id: RouteId::PersonalOverview,
        method: "GET",
        path: "/api/personal/overview",
        local_only: false,
    },
    Route {
        id: RouteId::ExportPatientData,
        method: "GET",
        path: "/api/clinic/patients/{patient_id}/data",
        local_only: false,
    },
    Route {
        id: RouteId::BatchPrint,
        method: "POST",
        path: "/api/clinic/reports/batch",
        local_only: false,
    },
    Route {
        id: RouteId::SetPatientRanges,
        method: "PUT",
        path: "/api/clinic/patients/{patient_id}/ranges",
        local_only: false,
    },
    Route {
        id: RouteId::CorrectPatient,
        method: "PUT",
        path: "/api/clinic/patients/{patient_id}",
        local_only: false,
    },
];

impl RouteId {
    /// The route's table entry.
    pub fn route(self) -> &'static Route {
        // Every RouteId has exactly one entry; the unit test below keeps it so.
        ROUTES.iter().find(|r| r.id == self).unwrap_or(&ROUTES[0])
    }

    /// The query parameters this route reads; any other is refused (`unknown_parameter`), as unknown
    /// JSON fields are.
    pub fn query_parameters(self) -> &'static [&'static str] {
        match self {
            RouteId::ListPatients => &[
                "q",
                "cursor",
                "link",
                "link_status",
                "period_days",
                "sort",
                "order",
                "flag",
                "archived",
            ],
            RouteId::ClinicAudit => &["cursor", "patient", "actor", "action", "from", "to", "tz"],
            RouteId::PersonalAudit => &["cursor"],
            RouteId::PrintLinkCode => &["code"],
            RouteId::SignOut => &["everywhere"],
            RouteId::Upload => &["format", "tz"],
            RouteId::ClinicReport | RouteId::PersonalReport => &[
                "format", "units", "ranges", "from", "to", "days", "tz", "sections",
            ],
            RouteId::ClinicOverview | RouteId::PersonalOverview => &["days", "units"],
            RouteId::ExportPatients => &[
                "q",
                "link",
                "link_status",
                "period_days",
                "sort",
                "order",
                "flag",
            ],
            RouteId::ExportPatientData => &["format", "from", "to"],
            RouteId::ExportPersonalData => &["format"],
            _ => &[],
        }
    }

    /// The name of this route's Lambda binary and template resource stem, e.g. `clinic-signup`.
    pub fn lambda_name(self) -> &'static str {
        match self {
            RouteId::ClinicSignUp => "clinic-signup",
            RouteId::ClinicSignIn => "clinic-signin",
            RouteId::PersonalSignUp => "personal-signup",
            RouteId::PersonalSignIn => "personal-signin",
            RouteId::SignOut => "signout",
            RouteId::Me => "me",
            RouteId::ListPatients => "clinic-patients-list",
            RouteId::CreatePatient => "clinic-patients-create",
            RouteId::PatientProfile => "clinic-patient-profile",
            RouteId::LinkWithCredentials => "clinic-link-credentials",
            RouteId::GenerateLinkCode => "clinic-link-code-create",
            RouteId::CancelLinkCode => "clinic-link-code-cancel",
            RouteId::Unlink => "clinic-unlink",
            RouteId::ClinicAudit => "clinic-audit",
            RouteId::PreviewLinkCode => "personal-sharing-lookup",
            RouteId::AcceptLink => "personal-sharing-accept",
            RouteId::DeclineLink => "personal-sharing-decline",
            RouteId::Sharing => "personal-sharing",
            RouteId::RevokeClinic => "personal-sharing-revoke",
            RouteId::PersonalAudit => "personal-audit",
            RouteId::SendLinkCode => "clinic-link-code-send",
            RouteId::PrintLinkCode => "clinic-link-code-print",
            RouteId::RequestUpload => "clinic-upload-request",
            RouteId::DevOutbox => "dev-outbox",
            RouteId::InviteStaff => "clinic-staff-invite",
            RouteId::ListStaff => "clinic-staff-list",
            RouteId::RemoveStaff => "clinic-staff-remove",
            RouteId::PreviewInvitation => "clinic-invitation-lookup",
            RouteId::AcceptInvitation => "clinic-invitation-accept",
            RouteId::UpdateClinicSettings => "clinic-settings-update",
            RouteId::Upload => "personal-upload",
            RouteId::CreateUploadToken => "personal-upload-token-create",
            RouteId::ListUploadTokens => "personal-upload-token-list",
            RouteId::RevokeUploadToken => "personal-upload-token-revoke",
            RouteId::UpdateProfile => "personal-profile-update",
            RouteId::ClinicReport => "clinic-report",
            RouteId::PersonalReport => "personal-report",
            RouteId::ClinicOverview => "clinic-patient-overview",
            RouteId::PersonalOverview => "personal-overview",
            RouteId::ExportPatients => "clinic-patients-export",
            RouteId::ExportPatientData => "clinic-patient-data",
            RouteId::BatchPrint => "clinic-reports-batch",
            RouteId::SetPatientRanges => "clinic-patient-ranges",
            RouteId::CorrectPatient => "clinic-patient-correct",
            RouteId::ClinicPasswordReset => "clinic-password-reset",
            RouteId::PersonalPasswordReset => "personal-password-reset",
            RouteId::CompletePasswordReset => "password-reset",
            RouteId::VerifyClinicEmail => "clinic-verify-email",
            RouteId::ResendClinicVerification => "clinic-verification-email",
            RouteId::SignInSecondFactor => "signin-second-factor",
            RouteId::StartTotp => "me-totp-start",
            RouteId::ConfirmTotp => "me-totp-confirm",
            RouteId::RemoveTotp => "me-totp-remove",
            RouteId::ExportPersonalData => "personal-export",
            RouteId::DeletePersonalAccount => "personal-account-delete",
            RouteId::CancelInvitation => "clinic-invitation-cancel",
            RouteId::DeletePatient => "clinic-patient-delete",
            RouteId::StartPasskeyRegistration => "me-passkey-options",
            RouteId::AddPasskey => "me-passkey-add",
            RouteId::ListPasskeys => "me-passkey-list",
            RouteId::RemovePasskey => "me-passkey-remove",
            RouteId::StartPasskeySignIn => "signin-passkey-options",
            RouteId::PasskeySignIn => "signin-passkey",
            RouteId::ArchivePatient => "clinic-patient-archive",
            RouteId::VerifyContact => "personal-verify-contact",
            RouteId::ResendContactVerification => "personal-contact-verification",
            RouteId::ChangeContacts => "personal-contact-change",
            RouteId::JoinClinic => "clinic-invitation-join",
            RouteId::SwitchClinic => "me-clinic-switch",
        }
    }
}

/// What a route's Lambda may do, which sets its IAM policies in `template.yaml` (checked by the
/// route-sync test): read the table (and keep its caller's session alive), also write it, or also
/// send email and SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads items; writes only session items (the idle timer, ending an expired session).
    Read,
    /// Reads and writes items.
    Write,
    /// Reads and writes items, and sends email (SES) and SMS (SNS).
    WriteAndSend,
}

impl RouteId {
    /// The access this route's Lambda needs. `tests/integration/permissions.rs` checks that the
    /// `Read` routes change nothing but sessions.
    pub fn access(self) -> Access {
        match self {
            RouteId::Me
            | RouteId::ListPatients
            | RouteId::ClinicAudit
            | RouteId::Sharing
            | RouteId::PersonalAudit
            | RouteId::DevOutbox
            | RouteId::ListStaff
            | RouteId::PreviewInvitation
            | RouteId::ListUploadTokens
            | RouteId::PersonalReport
            | RouteId::PersonalOverview
            | RouteId::ListPasskeys => Access::Read,
            // Replacing or cancelling a code that was sent tells its recipient it no longer works.
            RouteId::SendLinkCode
            | RouteId::GenerateLinkCode
            | RouteId::CancelLinkCode
            | RouteId::RequestUpload
            | RouteId::InviteStaff
            | RouteId::ClinicPasswordReset
            | RouteId::PersonalPasswordReset
            | RouteId::ClinicSignUp
            | RouteId::ResendClinicVerification
            | RouteId::PersonalSignUp
            | RouteId::ResendContactVerification
            | RouteId::ChangeContacts => Access::WriteAndSend,
            _ => Access::Write,
        }
    }

    /// Memory of the route's Lambda, in MB: uploads parse large exports, reports draw and write PDFs.
    /// (Lambda's CPU grows with memory, so these also run faster.)
    pub fn lambda_memory_mb(self) -> u32 {
        match self {
            RouteId::Upload
            | RouteId::ClinicReport
            | RouteId::PersonalReport
            | RouteId::ClinicOverview
            | RouteId::PersonalOverview
            | RouteId::ExportPatientData
            | RouteId::ExportPersonalData
            | RouteId::BatchPrint => 1024,
            _ => 512,
        }
    }

    /// Timeout of the route's Lambda, in seconds (API Gateway waits at most 30).
    pub fn lambda_timeout_seconds(self) -> u32 {
        match self {
            RouteId::Upload
            | RouteId::ClinicReport
            | RouteId::PersonalReport
            | RouteId::ExportPatientData
            | RouteId::ExportPersonalData
            | RouteId::DeletePersonalAccount
            | RouteId::BatchPrint => 29,
            _ => 10,
        }
    }

    /// The deployed route whose Lambda has this name (the `GLUCOLINK_ROUTE` of a function).
    pub fn from_lambda_name(name: &str) -> Option<RouteId> {
        ROUTES
            .iter()
            .find(|r| !r.local_only && r.id.lambda_name() == name)
            .map(|r| r.id)
    }
}

/// Path parameters captured by a match, in template order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PathParams(pub Vec<(&'static str, String)>);

impl PathParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the router found for a method and path.
#[derive(Debug, PartialEq, Eq)]
pub enum Match {
    Found(RouteId, PathParams),
    /// The path exists, but not with this method; `allow` lists the methods it has.
    WrongMethod {
        allow: Vec<&'static str>,
    },
    NotFound,
}

/// Matches a request against the table. `include_local` adds the local-only routes.
pub fn find(method: &Method, path: &str, include_local: bool) -> Match {
    let mut allow = Vec::new();
    for route in ROUTES.iter().filter(|r| include_local || !r.local_only) {
        if let Some(params) = match_path(route.path, path) {
            if route.method == method.as_str() {
                return Match::Found(route.id, params);
            }
            allow.push(route.method);
        }
    }
    if allow.is_empty() {
        Match::NotFound
    } else {
        Match::WrongMethod { allow }
    }
}

/// Matches one template against a concrete path, capturing `{name}` segments.
pub fn match_path(template: &'static str, path: &str) -> Option<PathParams> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let mut params = Vec::new();
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(PathParams(params)),
            (Some(w), Some(h)) => {
                if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    if h.is_empty() {
                        return None;
                    }
                    params.push((name, h.to_owned()));
                } else if w != h {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_id_has_exactly_one_entry_and_a_unique_lambda_name() {
        let mut names = std::collections::HashSet::new();
        for route in ROUTES {
            assert_eq!(ROUTES.iter().filter(|r| r.id == route.id).count(), 1);
            assert_eq!(route.id.route().path, route.path);
            assert!(names.insert(route.id.lambda_name()), "{:?}", route.id);
        }
    }

    #[test]
    fn finds_routes_and_tells_wrong_methods_from_unknown_paths() {
        assert_eq!(
            find(&Method::GET, "/api/me", false),
            Match::Found(RouteId::Me, PathParams::default())
        );
        assert_eq!(
            find(&Method::POST, "/api/me", false),
            Match::WrongMethod { allow: vec!["GET"] }
        );
        assert_eq!(find(&Method::GET, "/api/nothing", false), Match::NotFound);
        assert_eq!(find(&Method::GET, "/api/me/extra", false), Match::NotFound);
    }

    #[test]
    fn captures_path_parameters() {
        let params = match_path(
            "/api/clinic/patients/{patient_id}",
            "/api/clinic/patients/01ABC",
        )
        .expect("match");
        assert_eq!(params.get("patient_id"), Some("01ABC"));
        assert!(match_path("/api/clinic/patients/{patient_id}", "/api/clinic/patients/").is_none());
    }
}
