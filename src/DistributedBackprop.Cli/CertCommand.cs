using System.CommandLine;
using DistributedBackprop.Actors;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Cli;

/// <summary>
/// <c>dbp cert</c>: makes a cluster's certificate — one self-signed certificate and its private key in a
/// PKCS#12 file that every node of the cluster is given (<c>dbp node --tls-cert</c>). With .NET's own
/// <see cref="System.Security.Cryptography.X509Certificates.CertificateRequest"/>: no openssl needed.
/// </summary>
public static class CertCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "the .pfx file to write (readable by its owner only); an existing file is not replaced", Required = true };
        var passwordFile = new Option<string?>("--password-file") { Description = "encrypt the key with the password in this file (give the nodes the same file: --tls-password-file)" };
        var days = new Option<int>("--days") { Description = "days the certificate is valid (1 to 3650)", DefaultValueFactory = _ => 365 };
        var command = new Command("cert", "Make a cluster certificate for 'dbp node --tls-cert': nodes accept only peers that present the same one")
        {
            output, passwordFile, days,
        };
        command.SetAction(r => Run(r.GetValue(output)!, r.GetValue(passwordFile), r.GetValue(days)));
        return command;
    }

    private static int Run(string path, string? passwordFile, int days)
    {
        if (JobLimits.Count("--days", days, 3650) is { } bad) throw new UsageException(bad);
        AtomicFile.CheckTarget(path, ".pfx", ".p12");
        if (File.Exists(path)) throw new UsageException($"{path} exists: a cluster's certificate is not replaced by accident (remove it first, or choose another --out)");
        string? password = null;
        if (passwordFile is not null)
        {
            try { password = File.ReadAllText(passwordFile).TrimEnd('\r', '\n'); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"cannot read --password-file {passwordFile}: {e.Message}"); }
            if (password.Length == 0) throw new UsageException($"--password-file {passwordFile} is empty");
        }
        using var certificate = ClusterTls.Create(days);
        var bytes = ClusterTls.Export(certificate, password);
        AtomicFile.Write(path, temp =>
        {
            // Owner-only from the first byte: the file holds the cluster's private key.
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var file = new FileStream(temp, options);
            file.Write(bytes);
        });
        Console.WriteLine($"wrote {path}: cluster certificate {ClusterTls.FingerprintOf(certificate)} (SHA-256), valid until {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd} UTC");
        Console.WriteLine("give every node this file (dbp node --tls-cert FILE, or DBP_TLS_CERT); keep it secret: whoever holds it can join the cluster");
        return 0;
    }
}
