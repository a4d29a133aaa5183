import Foundation

/// Everything the registry can fail with. Each message says what went wrong
/// and what the user can do about it, because the CLI prints them verbatim.
public enum RegistryError: Error, CustomStringConvertible, Equatable {
    /// A SQLite call failed. `sql` is the statement text when there was one.
    case sqlite(code: Int32, message: String, sql: String?)
    case registryNotFound(path: String)
    case notSQLite(path: String)
    case notAFile(path: String, kind: String)
    case notARegistry(path: String, reason: String)
    case corruptFile(path: String, detail: String)
    case newerSchema(found: Int, supported: Int)
    case readOnly(path: String)
    case invalidModelName(String, rule: String)
    case modelNotFound(String, suggestions: [String])
    case modelExists(String)
    case importClash(String)
    case importNeedsModel(path: String, available: [String])
    case importRefused(path: String, reason: String)
    case modelBusy(String, holder: String?)
    case architectureNotFound(String)
    case checkpointNotFound(model: String, selector: String)
    case checkpointExists(model: String, step: Int)
    case invalidTensor(model: String, network: String, path: String, reason: String)
    case corruptTensor(model: String, epoch: Int, step: Int, network: String, path: String, reason: String)
    case tensorMismatch(model: String, missing: [String], extra: [String], misShaped: [String])
    case invalidArgument(String)
    case fileExists(path: String)

    public var description: String {
        switch self {
        case let .sqlite(code, message, sql):
            let text = sql.map { " in `\($0.trimmingCharacters(in: .whitespacesAndNewlines))`" } ?? ""
            return "SQLite error \(code): \(message)\(text). If this persists, run `zoo verify` and report it."
        case let .registryNotFound(path):
            return "no registry at \(path); train a model first or pass the right --registry path"
        case let .notSQLite(path):
            return "\(path) is not a SQLite file (wrong header); pass the path of a Zoo registry"
        case let .notAFile(path, kind):
            return "\(path) is \(kind), not a registry file; pass --registry with the path of a registry file "
                + "(a new one is created where none exists)"
        case let .notARegistry(path, reason):
            return "\(path) is a SQLite database but not a Zoo registry (\(reason)); pass the path of a Zoo registry"
        case let .corruptFile(path, detail):
            return "\(path) is damaged (\(detail)); restore it from a backup or re-import exported models"
        case let .newerSchema(found, supported):
            return "this registry was written by a newer zoo (schema \(found) > \(supported)); upgrade zoo"
        case let .readOnly(path):
            return "\(path) was opened read-only; open it writable to change it"
        case let .invalidModelName(name, rule):
            return "invalid model name \"\(name)\": \(rule)"
        case let .modelNotFound(name, suggestions):
            let hint =
                suggestions.isEmpty
                ? "; run `zoo list` to see the models"
                : "; did you mean \(suggestions.map { "\"\($0)\"" }.joined(separator: ", "))?"
            return "no model named \"\(name)\"\(hint)"
        case let .modelExists(name):
            return "a model named \"\(name)\" already exists; choose another name or rename/delete the old one"
        case let .importClash(name):
            return
                "a model named \"\(name)\" already exists in this registry; import it under another name with --as NEW"
        case let .importNeedsModel(path, available):
            return
                "\(path) holds \(available.count) models (\(available.joined(separator: ", "))); name the one to import with --model NAME"
        case let .modelBusy(name, holder):
            return "model \"\(name)\" is being trained\(holder.map { " by \($0)" } ?? " by another process"); "
                + "wait for it to finish, or stop it (Ctrl-C checkpoints it) and try again"
        case let .importRefused(path, reason):
            return "nothing was imported from \(path): \(reason); ask its author for a fresh `zoo export`"
        case let .architectureNotFound(name):
            return "unknown architecture \"\(name)\"; run `zoo architectures` to see the registered ones"
        case let .checkpointNotFound(model, selector):
            return "model \"\(model)\" has no checkpoint \(selector); run `zoo show \(model)` to see its checkpoints "
                + "(a training keeps its newest few and its final one; `zoo train --keep-checkpoints 0` keeps every epoch)"
        case let .checkpointExists(model, step):
            return "model \"\(model)\" already has a checkpoint at step \(step); checkpoints are append-only"
        case let .invalidTensor(model, network, path, reason):
            return "cannot save tensor \(network)/\(path) of model \"\(model)\": \(reason)"
        case let .corruptTensor(model, epoch, step, network, path, reason):
            return "model \"\(model)\", checkpoint epoch \(epoch) step \(step), tensor \(network)/\(path): \(reason); "
                + "load another checkpoint (e.g. --checkpoint epoch:N) or re-import the model"
        case let .tensorMismatch(model, missing, extra, misShaped):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
            if !extra.isEmpty { parts.append("unexpected \(extra.joined(separator: ", "))") }
            if !misShaped.isEmpty { parts.append("wrong shape \(misShaped.joined(separator: ", "))") }
            return "weights of model \"\(model)\" do not fit its architecture: \(parts.joined(separator: "; ")); "
                + "was it trained with a different architecture version?"
        case let .invalidArgument(message):
            return message
        case let .fileExists(path):
            return "\(path) already exists; choose a new file name or remove it first"
        }
    }
}
