public enum ZooRegistryPlaceholder {}
