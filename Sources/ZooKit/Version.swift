public enum ZooKitVersion { public static let string = "0.1.0" }
