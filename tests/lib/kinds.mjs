// Proposal kinds the proposal tests share: an exec kind with every field
// type, one whose proposer may approve, and one whose input names the
// project. A proposal's project must be declared, so the projects the tests
// propose for are declared here too.
export const KINDS = `
projects:
  - name: atlas
    title: Atlas
  - name: chronicle
  - name: zephyr
    title: Zephyr
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
  - name: pause-project
    title: Pause a project
    summary: Holds a project's sessions for a while.
    propose: operator
    approve: approver
    fields:
      - {name: project, type: string, required: true, max_len: 63, label: Project, help: "the project whose sessions hold"}
      - {name: minutes, type: integer, min: 1, max: 60, required: true}
    execute:
      executor: exec
      argv: ["/bin/echo", "pausing", "{project}", "{minutes}"]
`;
