/** An approver as the approval rules see them: who they are and the groups their token names. */
export interface ApproverIdentity {
  subject: string;
  issuer: string;
  groups: readonly string[];
}

/** Why an approver may not act on a request; null when they may. */
export type ApproverRefusal = 'self_approval' | 'not_an_approver';

/**
 * The approver rules, pure: `user:<sub>` names the approver token's subject, `group:<g>` a group
 * in its groups claim. An approver whose subject is the requester's never approves the request,
 * even when an entry names them and even under another issuer: a person and a machine sharing a
 * `sub` across issuers is an operator error, refused rather than risked.
 */
export class ApproverMatcher {
  static matches(
    approvers: readonly string[],
    who: Pick<ApproverIdentity, 'subject' | 'groups'>,
  ): boolean {
    return approvers.some((entry) => {
      const colon = entry.indexOf(':');
      const kind = entry.slice(0, colon);
      const name = entry.slice(colon + 1);
      if (kind === 'user') return name === who.subject;
      if (kind === 'group') return who.groups.includes(name);
      return false;
    });
  }

  /**
   * Every `approvers` entry that would name `who`: a request matches them exactly when its list
   * holds one of these (the list query filters on it).
   */
  static entriesNaming(who: Pick<ApproverIdentity, 'subject' | 'groups'>): string[] {
    return [`user:${who.subject}`, ...who.groups.map((g) => `group:${g}`)];
  }

  /** Subject equality alone, on purpose (see the class comment): the issuer cannot tell them apart. */
  static isRequester(requester: { subject: string }, who: { subject: string }): boolean {
    return requester.subject === who.subject;
  }

  /** Checks an approval (not a denial: see {@link mayDeny}). */
  static mayApprove(
    approvers: readonly string[],
    requester: { subject: string; issuer: string },
    who: ApproverIdentity,
  ): ApproverRefusal | null {
    if (ApproverMatcher.isRequester(requester, who)) return 'self_approval';
    return ApproverMatcher.matches(approvers, who) ? null : 'not_an_approver';
  }

  /**
   * A denial only stops the call, so a requester who is also a listed approver may withdraw their
   * own request; anyone else must be listed.
   */
  static mayDeny(approvers: readonly string[], who: ApproverIdentity): ApproverRefusal | null {
    return ApproverMatcher.matches(approvers, who) ? null : 'not_an_approver';
  }
}
