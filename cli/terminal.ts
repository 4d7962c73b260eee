/**
 * Output without escape codes where they do not belong: on a stream that is not a terminal
 * (a pipe, a file, CI) every ANSI control sequence is removed; on a terminal with `NO_COLOR` set
 * (https://no-color.org) the colours are. @effect/cli's help writes colour through `console`, so
 * the filter sits on the stream itself.
 */
/** CSI sequences (colours, cursor moves, line erases). */
const CSI = /\x1b\[[0-9;?]*[A-Za-z]/g
/** Only the colour and style ones (SGR). */
const SGR = /\x1b\[[0-9;]*m/g

export const stripAnsi = (text: string, options: { readonly colourOnly: boolean }): string => text.replace(options.colourOnly ? SGR : CSI, "")

export const plainOutput = (stream: NodeJS.WriteStream): void => {
  const noColour = (process.env.NO_COLOR ?? "") !== ""
  if (stream.isTTY === true && !noColour) return
  const colourOnly = stream.isTTY === true
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: Array<unknown>) => boolean
  stream.write = ((chunk: unknown, ...rest: Array<unknown>) =>
    write(typeof chunk === "string" ? stripAnsi(chunk, { colourOnly }) : chunk, ...rest)) as typeof stream.write
}
