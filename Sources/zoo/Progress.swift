import Foundation
import ZooKit

/// Draws training progress: a redrawn bar on a terminal, plain periodic lines otherwise
/// (logs, CI), so long runs always show they are alive.
final class ProgressPrinter {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastPlain = Date.distantPast
    private var lastDraw = Date.distantPast
    private let plainInterval: TimeInterval

    init(plainInterval: TimeInterval = 10) { self.plainInterval = plainInterval }

    func report(_ p: TrainingProgress) {
        let now = Date()
        let metrics = p.metrics.map { "\($0.name) \(Format.number($0.value))" }.joined(separator: " ")
        let speed = String(format: "%.0f img/s", p.imagesPerSecond)
        if isTerminal {
            guard p.event != .step || now.timeIntervalSince(lastDraw) > 0.1 || p.globalStep == p.totalSteps else {
                return
            }
            lastDraw = now
            let width = 24
            let fraction = Double(p.stepInEpoch) / Double(max(p.stepsPerEpoch, 1))
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line =
                "epoch \(p.epoch)/\(p.epochs) \(bar) \(p.stepInEpoch)/\(p.stepsPerEpoch)  \(metrics)  \(speed)  ETA \(Format.duration(p.eta))"
            FileHandle.standardError.write("\r\u{1B}[2K" + line)
            if p.event == .epochEnd {
                FileHandle.standardError.write(
                    "\r\u{1B}[2Kepoch \(p.epoch)/\(p.epochs) done  \(metrics)  \(speed)  \(Format.duration(p.elapsed)) elapsed\n"
                )
            }
            return
        }
        if p.event == .epochEnd || now.timeIntervalSince(lastPlain) >= plainInterval {
            lastPlain = now
            let what =
                p.event == .epochEnd
                ? "epoch \(p.epoch)/\(p.epochs) done"
                : "epoch \(p.epoch)/\(p.epochs) step \(p.stepInEpoch)/\(p.stepsPerEpoch)"
            FileHandle.standardError.write("\(what)  \(metrics)  \(speed)  ETA \(Format.duration(p.eta))\n")
        }
    }

    func finish() { if isTerminal { FileHandle.standardError.write("\r\u{1B}[2K") } }
}

/// Ctrl-C (SIGINT) or SIGTERM (`kill`, a service manager, a session ending) during training:
/// the first one asks the trainer to checkpoint and stop after the current step; a second
/// one exits at once.
enum Interrupt {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0

    static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { sig in
                if Interrupt.requested != 0 { _exit(128 + sig) }
                Interrupt.requested = 1
                let message = "\nstopping after this step (checkpointing); press Ctrl-C again to abort\n"
                message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
            }
        }
    }
}
