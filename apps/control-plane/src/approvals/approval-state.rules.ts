import type { ApprovalErrorCode, ApprovalStatus } from '@portcullis/contracts';

/** The stored facts the state rules need. */
export interface ApprovalFacts {
  status: string;
  expiresAtMs: number;
  requesterSubject: string;
  requesterIssuer: string;
  fingerprint: string;
  requirement: string;
  consumedByDecision: string | null;
}

/** What a consume presents. */
export interface ConsumeAttempt {
  subject: string;
  issuer: string;
  fingerprint: string;
  requirement: string;
  decisionId: string;
}

/**
 * The status rules, pure. A request that is pending or approved at or after its expiry is
 * expired, whether or not the sweeper has stored that yet; every reader and every check goes
 * through {@link effectiveStatus}, so no path can use an approval the clock has ended.
 */
export class ApprovalStateRules {
  static effectiveStatus(
    row: Pick<ApprovalFacts, 'status' | 'expiresAtMs'>,
    nowMs: number,
  ): ApprovalStatus {
    const status = row.status as ApprovalStatus;
    if ((status === 'pending' || status === 'approved') && row.expiresAtMs <= nowMs)
      return 'expired';
    return status;
  }

  /**
   * Why a consume that changed no row failed, from the row as read afterwards; null when the row
   * shows this very call already consumed it (the enforcer asked again after a lost reply).
   * The caller (issuer and subject) is checked before anything else, so a different caller
   * learns nothing about the request. A pending or approved request granted under another
   * requirement is `requirement_changed`: it can never be used for this call.
   */
  static consumeRefusal(
    row: ApprovalFacts | null,
    attempt: ConsumeAttempt,
    nowMs: number,
  ): ApprovalErrorCode | null {
    if (row === null) return 'not_found';
    if (row.requesterSubject !== attempt.subject || row.requesterIssuer !== attempt.issuer)
      return 'subject_mismatch';
    const status = ApprovalStateRules.effectiveStatus(row, nowMs);
    const sameRequirement = row.requirement === attempt.requirement;
    switch (status) {
      case 'consumed':
        return row.consumedByDecision === attempt.decisionId &&
          row.fingerprint === attempt.fingerprint
          ? null
          : 'already_used';
      case 'denied':
        return 'denied';
      case 'expired':
        return 'expired';
      case 'pending':
        return sameRequirement ? 'not_approved' : 'requirement_changed';
      case 'approved':
        // Approved, unexpired, same caller: the operation or the requirement must differ.
        // Otherwise the update ran a moment before `nowMs` and found it expired, which is what
        // it is now.
        if (row.fingerprint !== attempt.fingerprint) return 'fingerprint_mismatch';
        return sameRequirement ? 'expired' : 'requirement_changed';
    }
  }
}
