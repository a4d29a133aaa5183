import ArgumentParser
import Foundation
import ZooEngine
import ZooKit

/// Exit codes: 0 ok, 1 runtime failure, 2 usage error. Errors are one readable line on
/// stderr (plus a hint); user mistakes never produce a backtrace.
@main
enum Entry {
    static func main() {
        Threads.configure()
        var command: ParsableCommand
        do {
            command = try ZooCommand.parseAsRoot()
        } catch {
            // Parsing failures, --help and --version: ArgumentParser's own text.
            let text = ZooCommand.fullMessage(for: error)
            if ZooCommand.exitCode(for: error) == .success {
                print(text)
                exit(0)
            }
            FileHandle.standardError.write("\(text)\n")
            exit(2)
        }
        do {
            try command.run()
        } catch let error as UsageError {
            FileHandle.standardError.write("error: \(error.message)\n")
            exit(2)
        } catch let error as ZooError where error.isUsageError {
            FileHandle.standardError.write("error: \(error)\n")
            exit(2)
        } catch let error as ValidationError {
            FileHandle.standardError.write("error: \(error.message)\nSee 'zoo help'.\n")
            exit(2)
        } catch {
            // `zoo help`, `zoo SUB --help` and late parsing errors surface here as
            // ArgumentParser errors; everything else is a runtime failure.
            switch ZooCommand.exitCode(for: error) {
            case .success:
                print(ZooCommand.fullMessage(for: error))
                exit(0)
            case .validationFailure:
                FileHandle.standardError.write("\(ZooCommand.fullMessage(for: error))\n")
                exit(2)
            default:
                FileHandle.standardError.write("error: \(error)\n")
                exit(1)
            }
        }
    }
}

/// A mistake in how zoo was called that only `run` can detect (exit code 2).
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension FileHandle {
    func write(_ text: String) { write(Data(text.utf8)) }
}
