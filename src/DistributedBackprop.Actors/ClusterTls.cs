using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor.Setup;
using Akka.Remote.Transport.DotNetty;

namespace DistributedBackprop.Actors;

/// <summary>A cluster certificate that cannot be used: missing, unreadable, wrong password, expired.</summary>
public sealed class CertificateException(string message) : Exception(message);

/// <summary>
/// Mutual TLS between the nodes of one cluster. Every node holds the same certificate (made by
/// <c>dbp cert</c>) and accepts a peer only if it presents exactly that certificate — pinned by its SHA-256
/// fingerprint, compared with the node's own, so there is no list of thumbprints to hand out and no CA to
/// keep. Akka's own checks are not used: its default validation refuses a self-signed certificate, and
/// <c>suppress-validation</c> accepts any certificate at all. A refused peer is remembered, so a node that
/// cannot join can say why.
/// </summary>
public sealed class ClusterTls
{
    public X509Certificate2 Certificate { get; }

    /// <summary>Lowercase hex SHA-256 of the certificate's DER bytes: what a peer must match.</summary>
    public string Fingerprint { get; }

    private readonly Func<DateTimeOffset> _clock;
    private string? _lastRefusal;
    private int _refusals;

    public ClusterTls(X509Certificate2 certificate, Func<DateTimeOffset>? clock = null)
    {
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        if (!certificate.HasPrivateKey) throw new CertificateException("the cluster certificate has no private key: use the .pfx that dbp cert wrote");
        if (ValidityProblem(certificate, _clock()) is { } problem) throw new CertificateException($"the cluster certificate {problem}");
        Certificate = certificate;
        Fingerprint = FingerprintOf(certificate);
    }

    public static string FingerprintOf(X509Certificate2 c) => Convert.ToHexStringLower(SHA256.HashData(c.RawData));

    /// <summary>The first 16 hex digits: enough for a person to tell two certificates apart.</summary>
    public static string Short(string fingerprint) => fingerprint[..Math.Min(16, fingerprint.Length)];

    /// <summary>Refusals so far (peers that presented no certificate or another one, or one out of date).</summary>
    public int Refusals => Volatile.Read(ref _refusals);

    /// <summary>The latest refusal, as a sentence, or null.</summary>
    public string? LastRefusal => Volatile.Read(ref _lastRefusal);

    /// <summary>Raised on every refusal (from a transport thread): the node prints the first few.</summary>
    public event Action<string>? Refused;

    private static string? ValidityProblem(X509Certificate2 c, DateTimeOffset now) =>
        now < c.NotBefore.ToUniversalTime() ? $"is not valid before {c.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm} UTC"
        : now > c.NotAfter.ToUniversalTime() ? $"expired on {c.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC (make a new one with dbp cert)"
        : null;

    /// <summary>Why <paramref name="peer"/> is not this cluster's certificate, or null when it is. A pure decision.</summary>
    public string? Refusal(X509Certificate2? peer)
    {
        if (peer is null) return "it presented no certificate";
        var fingerprint = FingerprintOf(peer);
        if (fingerprint != Fingerprint) return $"its certificate ({Short(fingerprint)}) is not this cluster's ({Short(Fingerprint)})";
        return ValidityProblem(peer, _clock()) is { } problem ? $"its certificate {problem}" : null;
    }

    /// <summary>The check Akka's transport calls on both sides of every connection.</summary>
    public bool Accepts(X509Certificate2? peer, string remote)
    {
        if (Refusal(peer) is not { } reason) return true;
        var sentence = $"refused a TLS connection with {remote}: {reason}";
        Volatile.Write(ref _lastRefusal, sentence);
        Interlocked.Increment(ref _refusals);
        Refused?.Invoke(sentence);
        return false;
    }

    /// <summary>The actor-system setup that turns mutual TLS on with this check (enable-ssl must be on in HOCON).</summary>
    public Setup Setup() => new DotNettySslSetup(Certificate, suppressValidation: false, requireMutualAuthentication: true,
        customValidator: (cert, _, remote, _, _) => Accepts(cert, remote));

    /// <summary>Loads a PKCS#12 file (with its private key), with the password from <paramref name="passwordFile"/> if given.</summary>
    public static ClusterTls Load(string path, string? passwordFile)
    {
        string? password = null;
        if (passwordFile is not null)
        {
            try { password = File.ReadAllText(passwordFile).TrimEnd('\r', '\n'); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CertificateException($"cannot read the password file {passwordFile}: {e.Message}"); }
        }
        if (!File.Exists(path)) throw new CertificateException($"cannot read the cluster certificate {path}: there is no such file (make one with dbp cert --out {path})");
        X509Certificate2 certificate;
        try { certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CertificateException($"cannot read the cluster certificate {path}: {e.Message}"); }
        catch (CryptographicException e)
        {
            throw new CertificateException($"cannot open the cluster certificate {path}: {e.Message.TrimEnd('.')}"
                + (passwordFile is null ? " (is it protected by a password? pass --tls-password-file)" : " (a wrong password?)"));
        }
        return new ClusterTls(certificate);
    }

    /// <summary>
    /// A new cluster certificate: self-signed ECDSA P-256, usable as a TLS server and client (both extended
    /// key usages, which mutual TLS needs), with 127.0.0.1 and localhost in its alternative names.
    /// </summary>
    public static X509Certificate2 Create(int days, DateTimeOffset? now = null)
    {
        if (days is < 1 or > 3650) throw new ArgumentOutOfRangeException(nameof(days), $"a certificate is valid for 1 to 3650 days, not {days}");
        var start = now ?? DateTimeOffset.UtcNow;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=dbp cluster {Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "serverAuth"), new Oid("1.3.6.1.5.5.7.3.2", "clientAuth")], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        // A day's slack before now: a node whose clock is a little behind still accepts it.
        return request.CreateSelfSigned(start.AddDays(-1), start.AddDays(days));
    }

    /// <summary>The certificate and its key as PKCS#12 bytes (AES-256 when there is a password).</summary>
    public static byte[] Export(X509Certificate2 certificate, string? password) =>
        certificate.ExportPkcs12(Pkcs12ExportPbeParameters.Pbes2Aes256Sha256, password);

    /// <summary>
    /// Why a join through <paramref name="host"/>:<paramref name="port"/> did not happen, found by trying the
    /// connection itself (bounded by <paramref name="limit"/>): nothing listening, a peer with another
    /// certificate, a peer that refuses ours or speaks no TLS, or one that let us in and still did not answer.
    /// With <paramref name="tls"/> null (an --insecure node) only the TCP connection is tried.
    /// </summary>
    public static string Diagnose(string host, int port, ClusterTls? tls, TimeSpan limit)
    {
        using var cancel = new CancellationTokenSource(limit);
        using var client = new TcpClient();
        try { client.ConnectAsync(host, port, cancel.Token).AsTask().GetAwaiter().GetResult(); }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return $"nothing answers at {host}:{port} ({(e is SocketException s ? s.SocketErrorCode.ToString() : "timed out")}): is a parameter server running there?";
        }
        if (tls is null)
            return $"{host}:{port} accepts connections but did not let this node in: a cluster with certificates refuses a node without one (this node runs --insecure)";
        string? refusal = null;
        using var stream = new SslStream(client.GetStream(), false, (_, cert, _, _) =>
        {
            var peer = cert as X509Certificate2 ?? (cert is null ? null : X509CertificateLoader.LoadCertificate(cert.GetRawCertData()));
            refusal = tls.Refusal(peer);
            return refusal is null;
        });
        try
        {
            stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                ClientCertificates = [tls.Certificate],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => tls.Certificate,
            }, cancel.Token).GetAwaiter().GetResult();
            // TLS 1.3 tells a client that its certificate was refused only on the first read.
            var probe = new byte[1];
            var read = stream.ReadAsync(probe, cancel.Token).AsTask();
            if (!read.Wait(TimeSpan.FromMilliseconds(500)) || read.Result > 0)
                return $"the node at {host}:{port} accepts this cluster's certificate but did not let this node join (still starting, or not a parameter server?)";
            return $"the node at {host}:{port} closed the connection after the TLS handshake: it refuses this node's certificate";
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException or AggregateException)
        {
            if (refusal is not null) return $"the node at {host}:{port} is not of this cluster: {refusal}";
            return $"the node at {host}:{port} did not complete a TLS handshake with this cluster's certificate: it refuses it, or runs without TLS (--insecure)";
        }
    }
}
