/**
 * Errors of the gateway protocol: one stable code per failure, shared by the
 * client library, the verifiers and the gateway service (which returns the
 * code to callers as-is). The full list is documented in docs/drafts/gateway.md.
 */
import { ProtocolError } from '../errors.js';

/** Every code a gateway call or a gateway verifier can fail with. */
export type GatewayErrorCode =
  // malformed input
  | 'GW_MALFORMED'
  | 'GW_TOO_LARGE'
  | 'GW_BAD_FIELD'
  | 'GW_BAD_AMOUNT'
  | 'GW_AMOUNT_TOO_LARGE'
  | 'GW_BAD_ADDRESS'
  // authentication and ordering
  | 'GW_BAD_SIGNATURE'
  | 'GW_BAD_SEQUENCE'
  | 'GW_SEQUENCE_REUSED'
  | 'GW_BAD_PREVIOUS'
  | 'GW_UNKNOWN_ACCOUNT'
  | 'GW_ACCOUNT_EXISTS'
  // business rules
  | 'GW_INSUFFICIENT_FUNDS'
  | 'GW_BELOW_MINIMUM'
  | 'GW_SELF_TRANSFER'
  | 'GW_UNKNOWN_RECIPIENT'
  // service
  | 'GW_BUSY'
  | 'GW_UNAVAILABLE'
  | 'GW_INTERNAL'
  | 'GW_NOT_FOUND'
  // verification (client side)
  | 'GW_BAD_RECEIPT'
  | 'GW_BAD_CHECKPOINT'
  | 'GW_BAD_PROOF'
  | 'GW_PENDING_CALL';

/** Thrown when a gateway call or a gateway artefact (receipt, proof) is rejected. */
export class GatewayError extends ProtocolError<GatewayErrorCode> {
  constructor(code: GatewayErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}
