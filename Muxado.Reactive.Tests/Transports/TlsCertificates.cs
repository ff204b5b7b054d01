using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>Certificates made at run time for TLS tests, and the pinning check a client of a self-signed server makes.</summary>
internal static class TlsCertificates
{
    /// <summary>A self-signed server certificate for "localhost" / 127.0.0.1, with its private key, valid for a day.</summary>
    public static X509Certificate2 MakeServerCertificate(string name = "localhost")
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false)); // server auth
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Through PKCS#12, so that the key is one SslStream can use on every platform.
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pfx), password: null);
    }

    /// <summary>Trusts exactly <paramref name="pinned"/>: the check a client of a self-signed server makes.</summary>
    public static SslClientAuthenticationOptions PinnedTo(X509Certificate2 pinned) => new()
    {
        TargetHost = "localhost",
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && certificate.GetCertHashString(HashAlgorithmName.SHA256) == pinned.GetCertHashString(HashAlgorithmName.SHA256),
    };
}
