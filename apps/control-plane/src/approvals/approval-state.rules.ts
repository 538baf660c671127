import type { ApprovalErrorCode, ApprovalStatus } from '@portcullis/contracts';

/** The stored facts the state rules need. */
export interface ApprovalFacts {
  status: string;
  expiresAtMs: number;
  requesterSubject: string;
  fingerprint: string;
  consumedByDecision: string | null;
}

/** What a consume presents. */
export interface ConsumeAttempt {
  subject: string;
  fingerprint: string;
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
   * The caller is checked before the operation, so a different caller learns nothing about it.
   */
  static consumeRefusal(
    row: ApprovalFacts | null,
    attempt: ConsumeAttempt,
    nowMs: number,
  ): ApprovalErrorCode | null {
    if (row === null) return 'not_found';
    if (row.requesterSubject !== attempt.subject) return 'subject_mismatch';
    const status = ApprovalStateRules.effectiveStatus(row, nowMs);
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
        return 'not_approved';
      case 'approved':
        // Approved, unexpired, same caller: the operation must differ. Otherwise the update ran
        // a moment before `nowMs` and found it expired, which is what it is now.
        return row.fingerprint !== attempt.fingerprint ? 'fingerprint_mismatch' : 'expired';
    }
  }
}
