// Passkeys in the browser: WebAuthn's JSON forms both ways (the server's options in, the credential's
// toJSON() out), and the person's words for what went wrong on the device.

import { api, ApiError } from "/assets/lib/api.js";

/** Whether this browser can create and use passkeys with WebAuthn's JSON forms. */
export function passkeysSupported() {
  return typeof window.PublicKeyCredential === "function"
    && typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function"
    && typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";
}

/** The device's refusal in a person's words (cancelled, timed out, not allowed). */
function deviceError(error) {
  if (error instanceof ApiError) return error;
  const message = error && error.name === "InvalidStateError"
    ? "This device already holds a passkey for this account."
    : "The passkey was not used: the request was cancelled or timed out. Try again when you are ready.";
  return new ApiError(0, { error: { code: "passkey_cancelled", message } });
}

/** Creates a passkey on this device for the signed-in account and adds it (named `name`). */
export async function addPasskey(name) {
  const { options } = await api("POST", "/api/me/passkeys/options");
  let credential;
  try {
    credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
  } catch (error) {
    throw deviceError(error);
  }
  const body = { credential: credential.toJSON() };
  if (name) body.name = name;
  return api("POST", "/api/me/passkeys", body);
}

/** Signs in with a passkey of this device: alone, or completing a password sign-in's `challenge`. */
export async function signInWithPasskey(area, challenge) {
  const { options } = await api("POST", "/api/signin/passkey/options");
  let credential;
  try {
    credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
  } catch (error) {
    throw deviceError(error);
  }
  const body = { credential: credential.toJSON(), area };
  if (challenge) body.challenge = challenge;
  return api("POST", "/api/signin/passkey", body);
}
