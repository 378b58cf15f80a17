/// Configs on both sides of each rule the schema states (lengths at and over their limit, each enum, each pattern, each
/// rule across fields), for `ConfigSchemaAgreementTests`. The expected verdict is not written here: the loader gives
/// it, and the schema must agree. `root` holds the directories `www`, `www2` and `install`.
struct BoundaryConfigs {
    let root: String

    /// A config with `top` members added to the object and `certificate` members added to its one certificate.
    func config(top: String = "", certificate: String = "", certificates: String? = nil) -> String {
        let list = certificates ?? #"[{"name": "site", "domains": ["site.example.com"], "webroot": "\#(root)/www"\#(certificate.isEmpty ? "" : ", " + certificate)}]"#
        return #"{"storage": "\#(root)/store", "certificates": \#(list)\#(top.isEmpty ? "" : ", " + top)}"#
    }

    func repeated(_ text: String, _ count: Int) -> String { String(repeating: text, count: count) }

    /// Debian's CA bundle (ca-certificates, from scripts/install-deps): a caFile that exists and parses.
    let systemBundle = "/etc/ssl/certs/ca-certificates.crt"

    var cases: [ConfigCase] {
        let path = root + "/config.json"
        var texts: [(String, String)] = []
        func top(_ members: String...) { for member in members { texts.append(("top \(member.prefix(80))", config(top: member))) } }
        func certificate(_ members: String...) { for member in members { texts.append(("certificate \(member.prefix(80))", config(certificate: member))) } }
        func whole(_ label: String, _ text: String) { texts.append((label, text)) }

        whole("the base config", config())
        // $schema
        top(#""$schema": "file:///usr/share/certagent/config.schema.json""#, #""$schema": 1"#, #""$schema": null"#, #""$schema": "a\nb""#)
        // email
        let local64 = repeated("a", 64), label63 = repeated("b", 63)
        top(#""email": "a@example.com""#, #""email": ["a@example.com", "b@example.org"]"#, #""email": []"#, #""email": null"#, #""email": 5"#,
            #""email": [5]"#, #""email": "a@b""#, #""email": "a@.example.com""#, #""email": "a@example.com.""#, #""email": "a b@example.com""#,
            #""email": "@example.com""#, #""email": "a@@example.com""#, #""email": "a,b@example.com""#, #""email": "\#(local64)@example.com""#,
            #""email": "\#(local64)a@example.com""#, #""email": "a@\#(label63).com""#, #""email": "a@\#(label63)b.com""#,
            #""email": "\#(local64)@\#(label63).\#(label63).\#(repeated("c", 59)).com""#, #""email": "\#(local64)@\#(label63).\#(label63).\#(repeated("c", 60)).com""#,
            #""email": "é@example.com""#, #""email": "\#(repeated("é", 40))@example.com""#)
        // acceptTermsOfService
        top(#""acceptTermsOfService": true"#, #""acceptTermsOfService": "yes""#, #""acceptTermsOfService": null"#)
        // directory
        let longURL = "https://acme.example/" + repeated("d", 2048 - 21)
        top(#""directory": "letsencrypt-staging""#, #""directory": "https://acme.example/dir""#, #""directory": "http://acme.example/dir""#,
            #""directory": "acme.example""#, #""directory": "https://""#, #""directory": []"#, #""directory": ["letsencrypt", "https://acme.example/dir"]"#,
            #""directory": ["letsencrypt", "letsencrypt"]"#, #""directory": ["letsencrypt", "https://acme-v02.api.letsencrypt.org/directory"]"#,
            #""directory": {"url": "https://acme.example/dir"}"#, #""directory": {"url": "x"}"#, #""directory": {"url": "https://a.example/d", "extra": 1}"#,
            #""directory": {}"#, #""directory": 5"#, #""directory": null"#,
            #""directory": [{"url": "https://a.example/d", "eab": {"kid": "k", "hmacKeySecret": "s"}}]"#,
            #""directory": "\#(longURL)""#, #""directory": "\#(longURL)d""#, #""directory": "https://a.example/\u0001""#, #""directory": "https://a.example:8443/dir?x=1""#)
        // fallbackAfterFailures
        top(#""fallbackAfterFailures": 3, "directory": ["letsencrypt", "https://acme.example/dir"]"#, #""fallbackAfterFailures": 3, "directory": "letsencrypt""#,
            #""fallbackAfterFailures": 3"#, #""fallbackAfterFailures": 0, "directory": ["letsencrypt", "https://acme.example/dir"]"#,
            #""fallbackAfterFailures": 100, "directory": ["letsencrypt", "https://acme.example/dir"]"#,
            #""fallbackAfterFailures": 101, "directory": ["letsencrypt", "https://acme.example/dir"]"#,
            #""fallbackAfterFailures": 2.5, "directory": ["letsencrypt", "https://acme.example/dir"]"#,
            #""fallbackAfterFailures": 3.0, "directory": ["letsencrypt", "https://acme.example/dir"]"#,
            #""fallbackAfterFailures": "3", "directory": ["letsencrypt", "https://acme.example/dir"]"#, #""fallbackAfterFailures": null"#)
        // caFile and eab at the top and in directory's first entry
        top(#""caFile": "relative.pem""#, #""caFile": "\#(root)/missing.pem""#, #""caFile": "\#(systemBundle)""#,
            #""caFile": "\#(systemBundle)", "directory": [{"url": "https://a.example/d", "caFile": "\#(systemBundle)"}]"#,
            #""caFile": "\#(systemBundle)", "directory": ["https://b.example/d", {"url": "https://a.example/d", "caFile": "\#(systemBundle)"}]"#,
            #""eab": {"kid": "k", "hmacKeySecret": "s"}"#, #""eab": {"kid": "", "hmacKeySecret": "s"}"#, #""eab": {"kid": "k"}"#,
            #""eab": {"kid": "k", "hmacKeySecret": "bad name"}"#, #""eab": {"kid": "\#(repeated("k", 256))", "hmacKeySecret": "s"}"#,
            #""eab": {"kid": "\#(repeated("k", 257))", "hmacKeySecret": "s"}"#, #""eab": {"kid": "k", "hmacKeySecret": "s", "x": 1}"#,
            #""eab": {"kid": "k", "hmacKeySecret": "s"}, "directory": {"url": "https://a.example/d", "eab": {"kid": "k", "hmacKeySecret": "s"}}"#,
            #""eab": {"kid": "k", "hmacKeySecret": "s"}, "directory": ["https://b.example/d", {"url": "https://a.example/d", "eab": {"kid": "k", "hmacKeySecret": "s"}}]"#,
            #""eab": {"kid": "k", "hmacKeySecret": "\#(repeated("s", 64))"}"#, #""eab": {"kid": "k", "hmacKeySecret": "\#(repeated("s", 65))"}"#)
        // preferredChain, keyType, profile
        top(#""preferredChain": "ISRG Root X1""#, #""preferredChain": "\#(repeated("p", 64))""#, #""preferredChain": "\#(repeated("p", 65))""#,
            #""preferredChain": "a\tb""#, #""preferredChain": "\#(repeated("é", 64))""#,
            #""keyType": "rsa4096""#, #""keyType": "rsa1024""#, #""keyType": "EC256""#, #""keyType": null"#,
            #""profile": "tlsserver""#, #""profile": "bad profile""#, #""profile": "\#(repeated("p", 64))""#, #""profile": "\#(repeated("p", 65))""#, #""profile": """#)
        // storage, masterKeyFile, numbers, dryRunDirectory, metricsFile, unknown members
        top(#""masterKeyFile": "\#(root)/keys/""#, #""masterKeyFile": "\#(root)/master.key""#, #""masterKeyFile": "master.key""#,
            #""maxConcurrentRenewals": 1"#, #""maxConcurrentRenewals": 64"#, #""maxConcurrentRenewals": 0"#, #""maxConcurrentRenewals": 65"#,
            #""maxConcurrentRenewals": 4.0"#, #""maxConcurrentRenewals": 4.5"#, #""maxConcurrentRenewals": "4""#, #""maxConcurrentRenewals": -1"#,
            #""minimumRenewalIntervalSeconds": 86400"#, #""minimumRenewalIntervalSeconds": 86401"#, #""minimumRenewalIntervalSeconds": 1"#,
            #""dryRunDirectory": "letsencrypt-staging""#, #""dryRunDirectory": "staging""#, #""dryRunDirectory": {"url": "https://a.example/d"}"#,
            #""metricsFile": "\#(root)/metrics.prom""#, #""metricsFile": "metrics.prom""#, #""metricsFile": "\#(root)/www""#,
            #""webrot": "/var/www""#, #""Email": "a@example.com""#)
        // cluster (fleet mode)
        let etcd = #""node": "web1", "endpoints": ["https://10.0.0.5:2379", "https://10.0.0.6:2379"]"#
        top(#""cluster": {\#(etcd)}"#, #""cluster": null"#, #""cluster": {}"#, #""cluster": {"node": "web1"}"#,
            #""cluster": {"node": "web1", "endpoints": "http://127.0.0.1:2379"}"#, #""cluster": {"node": "web1", "endpoints": "http://10.0.0.5:2379"}"#,
            #""cluster": {"node": "web1", "endpoints": []}"#, #""cluster": {"node": "web1", "endpoints": ["https://10.0.0.5"]}"#,
            #""cluster": {"node": "web1", "endpoints": ["https://10.0.0.5:2379/v3"]}"#, #""cluster": {"node": "web1", "endpoints": ["https://u:p@10.0.0.5:2379"]}"#,
            #""cluster": {"node": "web1", "endpoints": [\#((1...16).map { #""https://10.0.0.\#($0):2379""# }.joined(separator: ", "))]}"#,
            #""cluster": {"node": "web1", "endpoints": [\#((1...17).map { #""https://10.0.0.\#($0):2379""# }.joined(separator: ", "))]}"#,
            #""cluster": {"node": ".web", "endpoints": "https://10.0.0.5:2379"}"#, #""cluster": {"node": "\#(repeated("n", 63))", "endpoints": "https://10.0.0.5:2379"}"#,
            #""cluster": {"node": "\#(repeated("n", 64))", "endpoints": "https://10.0.0.5:2379"}"#, #""cluster": {"node": "web 1", "endpoints": "https://10.0.0.5:2379"}"#,
            #""cluster": {\#(etcd), "prefix": "/certagent/shop/"}"#, #""cluster": {\#(etcd), "prefix": "certagent"}"#, #""cluster": {\#(etcd), "prefix": "/a b"}"#,
            #""cluster": {\#(etcd), "caFile": "\#(systemBundle)"}"#, #""cluster": {\#(etcd), "caFile": "relative.pem"}"#,
            #""cluster": {"node": "web1", "endpoints": "http://127.0.0.1:2379", "caFile": "\#(systemBundle)"}"#,
            #""cluster": {\#(etcd), "certificateFile": "\#(systemBundle)"}"#, #""cluster": {\#(etcd), "keyFile": "\#(systemBundle)"}"#,
            #""cluster": {\#(etcd), "certificateFile": "\#(systemBundle)", "keyFile": "\#(systemBundle)"}"#,
            #""cluster": {\#(etcd), "user": "certagent", "passwordSecret": "etcd-password"}"#, #""cluster": {\#(etcd), "user": "certagent"}"#,
            #""cluster": {\#(etcd), "passwordSecret": "etcd-password"}"#, #""cluster": {\#(etcd), "user": "", "passwordSecret": "p"}"#,
            #""cluster": {\#(etcd), "user": "u", "passwordSecret": "bad name"}"#,
            #""cluster": {\#(etcd), "leaseSeconds": 5}"#, #""cluster": {\#(etcd), "leaseSeconds": 4}"#, #""cluster": {\#(etcd), "leaseSeconds": 300}"#,
            #""cluster": {\#(etcd), "leaseSeconds": 301}"#, #""cluster": {\#(etcd), "leaseSeconds": 7.5}"#,
            #""cluster": {\#(etcd), "acknowledgeTimeoutSeconds": 3600}"#, #""cluster": {\#(etcd), "acknowledgeTimeoutSeconds": 3601}"#,
            #""cluster": {\#(etcd), "extra": 1}"#, #""cluster": 5"#)
        whole("storage relative", config().replacing(#""storage": "\#(root)/store""#, with: #""storage": "store""#))
        whole("storage with a 255-byte name", config().replacing(#""storage": "\#(root)/store""#, with: #""storage": "\#(root)/\#(repeated("s", 255))""#))
        whole("storage with a 256-byte name", config().replacing(#""storage": "\#(root)/store""#, with: #""storage": "\#(root)/\#(repeated("s", 256))""#))
        whole("storage with a NUL", config().replacing(#""storage": "\#(root)/store""#, with: #""storage": "\#(root)/st\u0000ore""#))
        whole("storage over PATH_MAX", config().replacing(#""storage": "\#(root)/store""#, with: #""storage": "\#(root)\#(repeated("/s", 2100))""#))
        whole("no certificates", #"{"storage": "\#(root)/store"}"#)
        whole("certificates empty", config(certificates: "[]"))
        whole("certificates not objects", config(certificates: "[5]"))
        whole("certificates null", config(certificates: "null"))
        // notify
        let hook = #""webhook": {"url": "https://hooks.example/x"}"#
        let mail = #""server": "smtp.example.com", "from": "a@example.com", "to": "b@example.com""#
        top(#""notify": {}"#, #""notify": {\#(hook)}"#, #""notify": {"webhook": null}"#, #""notify": false"#,
            #""notify": {"webhook": {"url": "http://hooks.example/x"}}"#, #""notify": {"webhook": {"url": "http://127.0.0.1:8080/x"}}"#,
            #""notify": {"webhook": {"url": "http://localhost/x"}}"#, #""notify": {"webhook": {"url": "http://[::1]:9/x"}}"#,
            #""notify": {"webhook": {"url": "HTTPS://hooks.example/x"}}"#, #""notify": {"webhook": {"url": "https://user:pw@hooks.example/"}}"#,
            #""notify": {"webhook": {"url": "ftp://hooks.example/"}}"#, #""notify": {"webhook": {"url": "hooks.example"}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "format": "teams"}}"#, #""notify": {"webhook": {"url": "https://h.example/", "format": "slack"}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "timeoutSeconds": 0.5}}"#, #""notify": {"webhook": {"url": "https://h.example/", "timeoutSeconds": 120}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "timeoutSeconds": 121}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {"X-Token": "abc"}}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {"Host": "x"}}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {"content-LENGTH": "1"}}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {"Bad Header": "x"}}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {"X": {"secret": "tok", "prefix": "Bearer "}}}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {"X": {"secret": "bad name"}}}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {"X": {"prefix": "x"}}}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {"X": 5}}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {"X": "a\nb"}}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {\#((1...20).map { #""X-\#($0)": "v""# }.joined(separator: ", "))}}}"#,
            #""notify": {"webhook": {"url": "https://h.example/", "headers": {\#((1...21).map { #""X-\#($0)": "v""# }.joined(separator: ", "))}}}"#,
            #""notify": {"email": {\#(mail)}}"#, #""notify": {"email": {"server": "smtp.example.com:25", "from": "a@example.com", "to": "b@example.com"}}"#,
            #""notify": {"email": {"server": "::1", "from": "a@example.com", "to": "b@example.com"}}"#,
            #""notify": {"email": {\#(mail), "security": "tls"}}"#, #""notify": {"email": {\#(mail), "security": "smtps"}}"#,
            #""notify": {"email": {\#(mail), "port": 0}}"#, #""notify": {"email": {\#(mail), "port": 65535}}"#, #""notify": {"email": {\#(mail), "port": 65536}}"#,
            #""notify": {"email": {"server": "smtp.example.com", "from": "a@example.com", "to": []}}"#,
            #""notify": {"email": {"server": "smtp.example.com", "from": "a@example.com"}}"#,
            #""notify": {"email": {"server": "smtp.example.com", "to": "b@example.com"}}"#,
            #""notify": {"email": {"server": "smtp.example.com", "from": "a@example.com", "to": [\#((1...50).map { #""u\#($0)@example.com""# }.joined(separator: ", "))]}}"#,
            #""notify": {"email": {"server": "smtp.example.com", "from": "a@example.com", "to": [\#((1...51).map { #""u\#($0)@example.com""# }.joined(separator: ", "))]}}"#,
            #""notify": {"email": {\#(mail), "username": "u"}}"#, #""notify": {"email": {\#(mail), "passwordSecret": "p"}}"#,
            #""notify": {"email": {\#(mail), "username": "u", "passwordSecret": "p"}}"#, #""notify": {"email": {\#(mail), "caFile": "relative.pem"}}"#,
            #""notify": {"email": {\#(mail), "extra": 1}}"#, #""notify": {\#(hook), "atRiskShare": 0.01}"#, #""notify": {\#(hook), "atRiskShare": 0.009}"#,
            #""notify": {\#(hook), "atRiskShare": 0.9}"#, #""notify": {\#(hook), "atRiskShare": 0.91}"#, #""notify": {\#(hook), "atRiskFloorDays": 0}"#,
            #""notify": {\#(hook), "atRiskFloorDays": 365}"#, #""notify": {\#(hook), "atRiskFloorDays": 366}"#, #""notify": {\#(hook), "atRiskFloorDays": -1}"#)
        // A certificate's fields
        for name in [#""a""#, #"".hidden""#, #""\#(repeated("n", 64))""#, #""\#(repeated("n", 65))""#, #""a/b""#, #""""#, "5", "null", #""A-b_c.d""#] {
            whole("certificate name \(name.prefix(70))", config(certificates: #"[{"name": \#(name), "domains": ["site.example.com"], "webroot": "\#(root)/www"}]"#))
        }
        certificate(#""keyType": "ec384""#, #""keyType": "dsa""#, #""reuseKey": true"#, #""reuseKey": "true""#, #""profile": "shortlived""#,
                    #""notify": false"#, #""notify": true"#, #""notify": {\#(hook)}"#, #""notify": {}"#, #""webrot": "/var/www""#,
                    #""address": "127.0.0.1:8443""#, #""address": "[::1]:443""#, #""address": "host.example:443""#, #""address": "host.example""#,
                    #""address": "::1:443""#, #""address": "127.0.0.1:0""#, #""address": "127.0.0.1:65536""#, #""address": "127.0.0.1:00443""#,
                    #""address": "a:443""#, #""address": "[1.2.3.4]:1""#, #""address": "[0:0:0:0:0:0:0:1]:443""#, #""address": "Host.Example:443""#,
                    #""webroots": {"site.example.com": "\#(root)/www2"}"#, #""webroots": {"other.example.com": "\#(root)/www2"}"#,
                    #""webroots": {"site.example.com": 5}"#, #""webroots": {"SITE.example.com": "\#(root)/www2"}"#, #""webroots": null"#)
        // install
        for install in [#"{}"#, #"{"reload": ["/bin/true"]}"#, #"{"reload": []}"#, #"{"reload": ["true"]}"#, #"{"reload": ["bin/true"]}"#, #"{"reload": [""]}"#,
                        #"{"reload": ["/bin/true", 5]}"#, #"{"reload": "/bin/true"}"#, #"{"reload": ["/nonexistent/program"]}"#,
                        #"{"reload": ["/bin/true"\#(repeated(", \"x\"", 63))]}"#, #"{"reload": ["/bin/true"\#(repeated(", \"x\"", 64))]}"#,
                        #"{"reload": ["/bin/true", "\#(repeated("x", 4096))"]}"#, #"{"reload": ["/bin/true", "\#(repeated("x", 4097))"]}"#,
                        #"{"directory": "\#(root)/install"}"#, #"{"directory": "\#(root)/install", "mode": "0644"}"#,
                        #"{"directory": "\#(root)/install", "mode": "0644", "keyMode": "0600"}"#, #"{"directory": "\#(root)/install", "keyMode": "0604"}"#,
                        #"{"directory": "\#(root)/install", "mode": "0640"}"#, #"{"directory": "\#(root)/install", "mode": "644"}"#,
                        #"{"directory": "\#(root)/install", "mode": "640"}"#, #"{"directory": "\#(root)/install", "mode": "4750"}"#,
                        #"{"directory": "\#(root)/install", "mode": 640}"#, #"{"directory": "\#(root)/install", "keyMode": "0648"}"#,
                        #"{"fullChain": "\#(root)/install/full.pem", "mode": "0644"}"#, #"{"reload": ["/bin/true"], "mode": "0600"}"#,
                        #"{"reload": ["/bin/true"], "owner": "root"}"#, #"{"directory": "\#(root)/install", "owner": "root", "group": 0}"#,
                        #"{"directory": "\#(root)/install", "owner": "no-such-user-here"}"#, #"{"directory": "\#(root)/install", "owner": -1}"#,
                        #"{"directory": "\#(root)/install", "owner": 1.5}"#, #"{"directory": "\#(root)/install", "group": 4294967294}"#,
                        #"{"directory": "\#(root)/install", "group": 4294967295}"#,
                        #"{"reload": ["/bin/true"], "reloadTimeoutSeconds": 30}"#, #"{"directory": "\#(root)/install", "reloadTimeoutSeconds": 30}"#,
                        #"{"reload": ["/bin/true"], "reloadTimeoutSeconds": 0}"#, #"{"reload": ["/bin/true"], "reloadTimeoutSeconds": 3600}"#,
                        #"{"reload": ["/bin/true"], "reloadTimeoutSeconds": 3601}"#, #"{"privateKey": "\#(root)/install/"}"#,
                        #"{"privateKey": "\#(root)/install/key.pem"}"#, #"{"privateKey": "\#(root)/nodir/key.pem"}"#, #"{"privateKey": "\#(root)/www/key.pem"}"#,
                        #"{"privateKey": "\#(root)/install/a.pem", "certificate": "\#(root)/install/a.pem"}"#, #"{"directory": "\#(root)/install", "x": 1}"#,
                        #"{"directory": "\#(root)/install", "mode": null, "keyMode": null}"#, #"{"reload": ["/bin/true"], "owner": null}"#, "null", "5"] {
            certificate(#""install": \#(install)"#)
        }
        // domains
        for domains in [#""site.example.com""#, "[]", #"["*.example.com"]"#, #"["example"]"#, #"["Site.Example.com"]"#, #"["a.example.com", "A.example.com"]"#,
                        #"["a.example.com", "a.example.com"]"#, #"["-a.example.com"]"#, #"["a-.example.com"]"#, #"["example.com."]"#,
                        #"["https://example.com/"]"#, #"["example.com:8080"]"#, #"["1.2.3.4"]"#, #"["01.2.3.4"]"#, #"["1.2.3"]"#, #"["2001:db8::1"]"#,
                        #"["\#(label63).example.com"]"#, #"["\#(label63)b.example.com"]"#, #"["a_b.example.com"]"#, #"["xn--bcher-kva.example"]"#,
                        #"["bücher.example"]"#, #"[5]"#, "null", #"["123.example.com"]"#, #"["1.2.3.4.5"]"#] {
            whole("domains \(domains.prefix(60))", config(certificates: #"[{"name": "site", "domains": \#(domains), "webroot": "\#(root)/www"}]"#))
        }
        // IP addresses: Let's Encrypt wants shortlived
        let shortlived = #""profile": "shortlived""#
        for (address, extra, certificateExtra) in [("1.2.3.4", "", shortlived), ("2001:db8::1", "", shortlived), ("2001:DB8::1", "", shortlived),
                                                  ("2001:db8:0:0:0:0:0:1", "", shortlived), ("::ffff:1.2.3.4", "", shortlived), ("[::1]", "", shortlived),
                                                  ("1.2.3.4/32", "", shortlived), ("fe80::1%eth0", "", shortlived), ("2001:db8::01", "", shortlived),
                                                  ("1.2.3.4", #""directory": "https://acme.example/dir""#, ""), ("1.2.3.4", #""directory": "letsencrypt-staging""#, ""),
                                                  ("1.2.3.4", #""directory": ["https://acme.example/dir", "letsencrypt"]"#, ""),
                                                  ("1.2.3.4", #""directory": [{"url": "letsencrypt"}]"#, ""),
                                                  ("1.2.3.4", shortlived, ""), ("1.2.3.4", shortlived, #""profile": "classic""#),
                                                  ("1.2.3.4", #""profile": "classic""#, shortlived), ("::1", "", shortlived)] {
            whole("address \(address) \(extra) \(certificateExtra)", config(top: extra, certificates: #"[{"domains": ["\#(address)"], "webroot": "\#(root)/www"\#(certificateExtra.isEmpty ? "" : ", " + certificateExtra)}]"#))
        }
        // Many names, and names as the certificate's name
        let names = { (count: Int) in (1...count).map { #""d\#($0).example.com""# }.joined(separator: ", ") }
        for (count, profile, topProfile) in [(100, "", ""), (101, "", ""), (25, #", "profile": "tlsserver""#, ""), (26, #", "profile": "tlsserver""#, ""),
                                             (26, "", #""profile": "tlsserver""#), (25, "", #""profile": "tlsserver""#), (26, #", "profile": "classic""#, #""profile": "tlsserver""#)] {
            whole("\(count) names\(profile) \(topProfile)", config(top: topProfile, certificates: #"[{"name": "many", "domains": [\#(names(count))], "webroot": "\#(root)/www"\#(profile)}]"#))
        }
        for length in [64, 65] {
            let name = repeated("a", length - 12) + ".example.com"
            whole("an unnamed certificate whose first domain is \(length) characters", config(certificates: #"[{"domains": ["\#(name)"], "webroot": "\#(root)/www"}]"#))
        }
        let longName = (0..<4).map { _ in repeated("l", 62) }.joined(separator: ".") + ".example"   // 259 characters
        whole("a 253-character domain", config(certificates: #"[{"name": "long", "domains": ["\#(longName.suffix(253))"], "webroot": "\#(root)/www"}]"#))
        whole("a 254-character domain", config(certificates: #"[{"name": "long", "domains": ["\#(longName.suffix(254))"], "webroot": "\#(root)/www"}]"#))
        // webroots
        whole("no webroot", config(certificates: #"[{"name": "site", "domains": ["site.example.com"]}]"#))
        whole("webroot relative", config(certificates: #"[{"name": "site", "domains": ["site.example.com"], "webroot": "www"}]"#))
        whole("webroot missing", config(certificates: #"[{"name": "site", "domains": ["site.example.com"], "webroot": "\#(root)/missing"}]"#))
        whole("webroots only", config(certificates: #"[{"name": "site", "domains": ["site.example.com"], "webroots": {"site.example.com": "\#(root)/www2"}}]"#))
        whole("webroots empty", config(certificates: #"[{"name": "site", "domains": ["site.example.com"], "webroots": {}}]"#))
        whole("webroots short of a domain", config(certificates: #"[{"name": "site", "domains": ["site.example.com", "b.example.com"], "webroots": {"site.example.com": "\#(root)/www2"}}]"#))
        whole("webroot null", config(certificates: #"[{"name": "site", "domains": ["site.example.com"], "webroot": null}]"#))
        // Across certificates and the JSON text
        whole("two certificates, one name", config(certificates: #"[{"name": "a", "domains": ["a.example.com"], "webroot": "\#(root)/www"}, {"name": "a", "domains": ["b.example.com"], "webroot": "\#(root)/www"}]"#))
        whole("a member given twice", #"{"storage": "\#(root)/store", "storage": "\#(root)/store", "certificates": [{"domains": ["a.example.com"], "webroot": "\#(root)/www"}]}"#)
        whole("NaN", config(top: #""maxConcurrentRenewals": NaN"#))
        whole("a trailing comma", config(top: #""email": ["a@example.com",]"#))
        whole("not an object", "[]")
        whole("over 1 MiB", config() + repeated(" ", 1 << 20))

        return texts.map { ConfigCase(label: $0.0, bytes: Array($0.1.utf8), path: path) }
    }
}
