//! The operator's commands in the cloud: Lambda functions invoked directly (`aws lambda invoke`), never
//! through API Gateway. One command so far: add a clinic and invite its first admin (the `invite` join
//! mode's "operator command"; `glucolink clinic-invite` does the same locally).
//!
//! ```text
//! aws lambda invoke --function-name <stack>-clinic-invite \
//!   --cli-binary-format raw-in-base64-out \
//!   --payload '{"clinic_name": "Northgate Diabetes Centre", "admin_email": "lead@northgate.example"}' out.json
//! ```

use glucolink_core::Ctx;
use glucolink_core::account::verify;
use serde::Deserialize;
use serde_json::{Value, json};

/// The `GLUCOLINK_ROUTE` of the clinic-invite function.
pub const CLINIC_INVITE: &str = "operator-clinic-invite";

/// What the operator sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClinicInvite {
    pub clinic_name: String,
    pub admin_email: String,
}

/// Adds the clinic (verified by the operator) and emails its first admin an invitation; answers what
/// was done, or why not in words (a name or an address that cannot be used, an address that already
/// has a clinic account).
pub async fn clinic_invite(ctx: &Ctx, site_url: &str, event: Value) -> Result<Value, String> {
    let command: ClinicInvite = serde_json::from_value(event)
        .map_err(|e| format!("Send {{\"clinic_name\": \"…\", \"admin_email\": \"…\"}} ({e})."))?;
    let (clinic, invitation) =
        verify::add_clinic(ctx, &command.clinic_name, &command.admin_email, site_url)
            .await
            .map_err(|e| e.to_string())?;
    Ok(json!({
        "clinic_id": clinic.id.to_string(),
        "clinic_name": clinic.name,
        "invited": invitation.email,
        "invitation_expires_at": invitation.expires_at,
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use glucolink_core::clock::{Clock, FixedClock};
    use glucolink_core::store::{Query, Store};
    use glucolink_notify::OutboxNotifier;
    use glucolink_store::EmbeddedStore;

    use super::*;

    fn ctx() -> Ctx {
        let dir = std::env::temp_dir().join(format!("operator-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(jiff::Timestamp::now()));
        let store: Arc<dyn Store> =
            Arc::new(EmbeddedStore::open(&dir.join("s.redb"), clock.clone()).expect("store"));
        let notifier = Arc::new(OutboxNotifier::new(store.clone(), clock.clone()));
        Ctx::new(store, clock, notifier)
    }

    #[tokio::test]
    async fn the_operator_adds_a_clinic_and_its_admin_is_emailed_an_invitation() {
        let ctx = ctx();
        let answer = clinic_invite(
            &ctx,
            "https://glucolink.example",
            json!({"clinic_name": "Northgate Diabetes Centre", "admin_email": "Lead@Northgate.example"}),
        )
        .await
        .expect("added");
        assert_eq!(answer["clinic_name"], "Northgate Diabetes Centre");
        assert_eq!(answer["invited"], "lead@northgate.example");
        let outbox = ctx
            .store
            .query(&Query::prefix("OUTBOX".to_owned(), ""))
            .await
            .expect("outbox");
        let text = outbox.items[0].s("text").unwrap_or_default().to_owned();
        assert!(
            text.contains("https://glucolink.example/clinic/join?token="),
            "{text}"
        );
        // A name that cannot be a clinic's is refused in words, and nothing more is sent.
        let refused = clinic_invite(
            &ctx,
            "https://glucolink.example",
            json!({"clinic_name": "   ", "admin_email": "other@northgate.example"}),
        )
        .await;
        assert!(refused.is_err_and(|e| !e.is_empty()));
        let after = ctx
            .store
            .query(&Query::prefix("OUTBOX".to_owned(), ""))
            .await
            .expect("outbox");
        assert_eq!(after.items.len(), 1);
    }

    #[tokio::test]
    async fn a_malformed_command_is_refused_with_what_to_send() {
        let ctx = ctx();
        for event in [
            json!({}),
            json!({"clinic_name": "X"}),
            json!({"clinic_name": "Northgate", "admin_email": "lead@northgate.example", "role": "admin"}),
        ] {
            let refused = clinic_invite(&ctx, "https://glucolink.example", event).await;
            assert!(refused.is_err_and(|e| e.contains("clinic_name")));
        }
        let refused = clinic_invite(
            &ctx,
            "https://glucolink.example",
            json!({"clinic_name": "Northgate", "admin_email": "not an email"}),
        )
        .await;
        assert!(refused.is_err());
        let stored = ctx
            .store
            .query(&Query::prefix("OUTBOX".to_owned(), ""))
            .await
            .expect("outbox");
        assert!(stored.items.is_empty());
    }
}
