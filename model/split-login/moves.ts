/**
 * The P2b move vocabulary and when each move is enabled, from a view both worlds build from what
 * they hold (the model from its state, the implementation from its services and what it has
 * seen), so the same schedule runs on both (spec/attacker.ts).
 *
 * - `U:device:login` / `H:device:login`: alice types her username at the Device (the honest move
 *   runs the login up to the poll: open, scan, hash or OPAQUE, every message delivered once, in
 *   order — the poll is the Device's next move, the race the attacker may win);
 * - `H:device:open`: the same, until the Device shows the SID it was sent;
 * - `U:user:scan`: alice scans the SID her Device shows and types her password on the Machine;
 *   `H:user:scan`: the same, the exchange run until the Machine's last flight is on the wire (the
 *   attacker holds it: the moment to edit or race it);
 * - `U:device:poll`: the Device polls for its result (again, too: a reloaded page polls again);
 * - `I:server:open`: the attacker opens a session for alice on its own device (`evil`);
 * - `I:machine:phish`: QRLjacking — the attacker's latest SID, shown on a phishing page, is what
 *   alice scans, and her login for it runs to its end (every message delivered once);
 * - `I:server:poll-seen`: the attacker polls for the latest SID alice's Device showed (a screen is public);
 * - `I:server:replay`: the latest captured authenticating message (`Login` / `LoginFinish`) with its
 *   SID replaced by the attacker's latest;
 * - `I:attacker:dictionary`: an offline dictionary attack on everything seen on the open link;
 * - `T:server`: the SID lifetime passes; `C:<actor>`: a crash-restart; `D<ref>`: a delivery (a TLS
 *   record at most once, an open-link message again and again).
 */
import type { Move } from "../../spec/attacker.ts"
import type { Actor } from "../../spec/trace.ts"

export const MAX_LOGINS = 2
export const MAX_SCANS = 2
export const MAX_EVIL_OPENS = 1
export const MAX_TICKS = 1

/** The messages on the Device ↔ Server TLS connections. */
export const TLS_LABELS: ReadonlySet<string> = new Set(["Open", "Opened", "Poll", "Result"])

export const FORGES: ReadonlyArray<readonly [Actor, string]> = [
  ["server", "open"],
  ["machine", "phish"],
  ["server", "poll-seen"],
  ["server", "replay"],
  ["attacker", "dictionary"]
]

export interface MoveView {
  readonly logins: number
  readonly scans: number
  readonly evilOpens: number
  readonly ticks: number
  /** The SID alice's Device shows (it has one and no session yet). */
  readonly deviceShows: boolean
  /** alice's Device holds an SID (it can poll). */
  readonly deviceHasSid: boolean
  /** alice's Device has shown an SID (the attacker remembers the latest one it saw). */
  readonly sidSeen: boolean
  readonly evilHasSid: boolean
  /** A captured `Login` or `LoginFinish` exists. */
  readonly authSeen: boolean
  readonly openLinkSeen: boolean
  readonly guessed: boolean
  readonly network: ReadonlyArray<{ readonly from: Actor; readonly to: Actor; readonly label: string; readonly delivered: boolean }>
}

export const deliverable = (m: MoveView["network"][number]): boolean => m.from !== "attacker" && m.to !== "attacker" && !(TLS_LABELS.has(m.label) && m.delivered)

export const enabledMoves = (view: MoveView): Array<Move> => {
  const out: Array<Move> = []
  if (view.logins < MAX_LOGINS) out.push({ _tag: "User", actor: "device", action: "login" }, { _tag: "Honest", actor: "device", action: "login" }, { _tag: "Honest", actor: "device", action: "open" })
  if (view.deviceShows && view.scans < MAX_SCANS) out.push({ _tag: "User", actor: "user", action: "scan" }, { _tag: "Honest", actor: "user", action: "scan" })
  if (view.deviceHasSid) out.push({ _tag: "User", actor: "device", action: "poll" })
  for (const [to, forge] of FORGES) {
    if (forge === "open" && view.evilOpens >= MAX_EVIL_OPENS) continue
    if (forge === "phish" && (!view.evilHasSid || view.scans >= MAX_SCANS)) continue
    if (forge === "poll-seen" && !view.sidSeen) continue
    if (forge === "replay" && (!view.authSeen || !view.evilHasSid)) continue
    if (forge === "dictionary" && (!view.openLinkSeen || view.guessed)) continue
    out.push({ _tag: "Inject", to, forge })
  }
  if (view.ticks < MAX_TICKS) out.push({ _tag: "Timeout", actor: "server" })
  for (const actor of ["server", "machine", "device"]) out.push({ _tag: "Crash", actor })
  view.network.forEach((m, ref) => {
    if (deliverable(m)) out.push({ _tag: "Deliver", ref })
  })
  return out
}

/** What the conformance driver compares between the worlds after every move. */
export interface Observation {
  /** Per SID name, sorted: opener, logins, releases, whether an OPAQUE challenge is pending. */
  readonly server: ReadonlyArray<readonly [string, string, number, number, boolean]>
  readonly device: { readonly sid: string | null; readonly session: boolean }
  readonly machine: { readonly pending: string | null }
  readonly attacker: { readonly password: boolean }
}
