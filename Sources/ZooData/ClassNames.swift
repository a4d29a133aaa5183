/// What a dataset's labels mean, for pages and messages: MNIST's are the digits themselves,
/// Fashion-MNIST's are garments (Xiao et al. 2017, in label order).
public enum ClassNames {
    public static let fashion = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// The names of `dataset`'s labels as the registry records it ("mnist", "fashion"); nil
    /// where the label is its own name (the digits).
    public static func names(dataset: String) -> [String]? {
        dataset.hasPrefix("fashion") ? fashion : nil
    }

    /// "4 (Coat)" for a named label, "4" for a digit; out-of-range labels print as numbers.
    public static func describe(_ label: Int, dataset: String) -> String {
        guard let names = names(dataset: dataset), names.indices.contains(label) else { return "\(label)" }
        return "\(label) (\(names[label]))"
    }
}
