import ArgumentParser

/// Every command names itself (`commandName:`): without one, ArgumentParser derives the name
/// from `String(describing: Self.self)` for each subcommand on every start, and those type
/// lookups scanned every loaded image's protocol conformances, about 4 ms of each `zoo` run.
struct ZooCommand: ParsableCommand {
    /// Written into exported files' metadata.
    static let zooVersion = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "A GAN model zoo: train, list, evaluate and draw from models by name.",
        discussion: """
            Models live in one SQLite registry (--registry, $ZOO_REGISTRY, or \
            $XDG_DATA_HOME/zoo/registry.sqlite). The shipped pretrained models are added to a new registry.

            Examples:
              zoo list
              zoo generate cdcgan-mnist --digit 7 --out seven.png
              zoo train dcgan --name my-dcgan --epochs 5
              zoo show my-dcgan
            """,
        version: zooVersion,
        subcommands: [
            Architectures.self, List.self, Show.self, Train.self, Resume.self, Generate.self, Evaluate.self,
            Card.self, ProgressAnimation.self, Alias.self, Rename.self, Delete.self, Export.self, Import.self,
            Verify.self, Publish.self, Prune.self, Serve.self,
        ])
}

/// Options every command that opens the registry takes.
struct RegistryOptions: ParsableArguments {
    @Option(
        name: .customLong("registry"),
        help: ArgumentHelp(
            "Registry file, or a team registry postgresql://user[:password]@host[:port]/database.",
            valueName: "path"))
    var path: String?
}
