import COpenSSL

/// How OpenSSL is set up for the whole process.
public enum OpenSSLProcessSetup {
    /// Initialises OpenSSL without its exit-time cleanup (`OPENSSL_INIT_NO_ATEXIT`). By default OpenSSL 3 registers
    /// `OPENSSL_cleanup` with `atexit`, which frees its global state (algorithm tables, the default library context)
    /// in whichever thread calls `exit()` — while another thread may still be parsing a certificate or in a TLS
    /// handshake, which then reads freed memory (status 139 after the daemon logged "stopped"). Without it, the
    /// kernel reclaims that memory when the process ends. Call it first thing in `main`, before anything uses OpenSSL
    /// or libcurl (libcurl's `curl_global_init` initialises OpenSSL too; only the first initialisation decides about
    /// the exit handler). Returns false when OpenSSL could not be initialised (its first use will report why).
    @discardableResult
    public static func initializeWithoutExitCleanup() -> Bool {
        OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil) == 1
    }
}
