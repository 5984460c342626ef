// Proposal kinds the proposal tests share: an exec kind with every field
// type, and one whose proposer may approve.
export const KINDS = `
proposals:
  - name: rotate-key
    title: Rotate a deploy key
    summary: Replace a project's deploy key.
    propose: operator
    approve: approver
    fields:
      - {name: key_name, type: enum, values: [deploy, ci], required: true}
      - {name: ttl_days, type: integer, min: 1, max: 90, required: true}
      - {name: note, type: string, max_len: 20}
      - {name: dry_run, type: boolean}
    execute:
      executor: exec
      argv: ["/bin/echo", "rotating", "{key_name}"]
      timeout_ms: 10000
      max_attempts: 2
  - name: self-serve
    title: Self-approved change
    summary: A kind whose proposer may approve.
    propose: operator
    approve: operator
    self_approval: true
    fields:
      - {name: what, type: string, required: true, max_len: 40}
    execute:
      executor: exec
      argv: ["/bin/echo", "{what}"]
`;
