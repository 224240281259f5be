using System.Security.Cryptography.X509Certificates;
using DistributedBackprop.Actors;

namespace DistributedBackprop.Actors.Tests;

public class ClusterTlsTests
{
    private static readonly X509Certificate2 Ours = ClusterTls.Create(30), Theirs = ClusterTls.Create(30);

    [Fact]
    public void A_peer_is_accepted_only_with_exactly_the_clusters_certificate()
    {
        var tls = new ClusterTls(Ours);
        Assert.Null(tls.Refusal(X509CertificateLoader.LoadCertificate(Ours.RawData))); // the same certificate, without its key
        Assert.Equal($"its certificate ({ClusterTls.Short(ClusterTls.FingerprintOf(Theirs))}) is not this cluster's ({ClusterTls.Short(tls.Fingerprint)})",
            tls.Refusal(Theirs));
        Assert.Equal("it presented no certificate", tls.Refusal(null));
    }

    [Fact]
    public void Refusals_are_counted_and_the_latest_is_kept_for_the_join_error()
    {
        var tls = new ClusterTls(Ours);
        var heard = new List<string>();
        tls.Refused += heard.Add;
        Assert.True(tls.Accepts(Ours, "a"));
        Assert.False(tls.Accepts(Theirs, "peer-1"));
        Assert.False(tls.Accepts(null, "peer-2"));
        Assert.Equal(2, tls.Refusals);
        Assert.Equal("refused a TLS connection with peer-2: it presented no certificate", tls.LastRefusal);
        Assert.Equal(2, heard.Count);
    }

    [Fact]
    public void The_certificate_is_checked_for_its_dates_too_which_pinning_alone_ignores()
    {
        var start = DateTimeOffset.UtcNow;
        var later = new ClusterTls(Ours, () => start);
        var clock = start;
        var tls = new ClusterTls(Ours, () => clock);
        clock = start.AddDays(31);
        Assert.StartsWith("its certificate expired on", tls.Refusal(Ours));
        Assert.Null(later.Refusal(Ours));
        var e = Assert.Throws<CertificateException>(() => new ClusterTls(Ours, () => start.AddDays(40)));
        Assert.Contains("expired", e.Message);
    }

    [Fact]
    public void A_certificate_without_its_key_cannot_be_a_nodes_own()
    {
        var e = Assert.Throws<CertificateException>(() => new ClusterTls(X509CertificateLoader.LoadCertificate(Ours.RawData)));
        Assert.Contains("no private key", e.Message);
    }

    [Fact]
    public void A_certificate_serves_as_tls_server_and_client_with_loopback_in_its_names()
    {
        var usages = Ours.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages;
        Assert.Contains(usages.Cast<System.Security.Cryptography.Oid>(), o => o.Value == "1.3.6.1.5.5.7.3.1");
        Assert.Contains(usages.Cast<System.Security.Cryptography.Oid>(), o => o.Value == "1.3.6.1.5.5.7.3.2");
        Assert.Contains(Ours.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateIPAddresses(), ip => ip.ToString() == "127.0.0.1");
        Assert.NotEqual(ClusterTls.FingerprintOf(Ours), ClusterTls.FingerprintOf(Theirs));
    }

    [Fact]
    public void A_password_protected_file_needs_its_password()
    {
        var dir = Directory.CreateTempSubdirectory("dbp-tls-").FullName;
        try
        {
            var pfx = Path.Combine(dir, "c.pfx");
            var password = Path.Combine(dir, "password");
            File.WriteAllBytes(pfx, ClusterTls.Export(Ours, "s3cret"));
            File.WriteAllText(password, "s3cret\n");
            Assert.Equal(ClusterTls.FingerprintOf(Ours), ClusterTls.Load(pfx, password).Fingerprint);
            Assert.Contains("pass --tls-password-file", Assert.Throws<CertificateException>(() => ClusterTls.Load(pfx, null)).Message);
            File.WriteAllText(password, "wrong");
            Assert.Contains("a wrong password?", Assert.Throws<CertificateException>(() => ClusterTls.Load(pfx, password)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
