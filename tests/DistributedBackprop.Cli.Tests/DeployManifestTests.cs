using System.Diagnostics;
using DistributedBackprop.Actors;
using YamlDotNet.RepresentationModel;

namespace DistributedBackprop.Cli.Tests;

/// <summary>
/// deploy/k8s's manifests agree with one another and with dbp node, which no schema checks: names, labels and
/// selectors, the service account and its Role, the Secret's keys, ports, probes, the image. Read from the YAML
/// files themselves (no kubectl needed); <c>kubectl kustomize</c> is run too where kubectl is installed.
/// </summary>
public class DeployManifestTests
{
    private static readonly string K8s = Path.Combine(Root(), "deploy", "k8s");

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "deploy", "k8s")) && Directory.Exists(Path.Combine(dir.FullName, "src"))) return dir.FullName;
        throw new DirectoryNotFoundException("deploy/k8s above the test's folder");
    }

    /// <summary>A YAML node as plain values: maps, lists and strings.</summary>
    private static object? Plain(YamlNode node) => node switch
    {
        YamlMappingNode m => m.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => Plain(kv.Value)),
        YamlSequenceNode s => s.Children.Select(Plain).ToList(),
        YamlScalarNode v => v.Value,
        _ => throw new UnreachableException(),
    };

    private static List<Dictionary<string, object?>> Documents(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(K8s, file))) stream.Load(reader);
        return stream.Documents.Select(d => (Dictionary<string, object?>)Plain(d.RootNode)!).ToList();
    }

    private static readonly Dictionary<string, object?> Kustomization = Documents("kustomization.yaml").Single();
    private static readonly List<Dictionary<string, object?>> Resources =
        List(Kustomization, "resources").Cast<string>().SelectMany(Documents).ToList();

    private static Dictionary<string, object?> Map(object? o, string key) => (Dictionary<string, object?>)((Dictionary<string, object?>)o!)[key]!;
    private static List<object?> List(object? o, string key) => ((Dictionary<string, object?>)o!).TryGetValue(key, out var v) && v is List<object?> l ? l : [];
    private static string? Text(object? o, string key) => ((Dictionary<string, object?>)o!).TryGetValue(key, out var v) ? v as string : null;
    private static string Name(Dictionary<string, object?> doc) => Text(Map(doc, "metadata"), "name")!;
    private static Dictionary<string, object?> Kind(string kind, string name) => Resources.Single(d => Text(d, "kind") == kind && Name(d) == name);

    private static IEnumerable<Dictionary<string, object?>> Workloads => Resources.Where(d => Text(d, "kind") is "Job" or "Deployment" or "StatefulSet");
    private static Dictionary<string, object?> Pod(Dictionary<string, object?> workload) => Map(Map(workload, "spec"), "template");
    private static Dictionary<string, object?> Labels(Dictionary<string, object?> workload) => Map(Map(Pod(workload), "metadata"), "labels");
    private static IEnumerable<Dictionary<string, object?>> Containers(Dictionary<string, object?> workload) =>
        List(Map(Pod(workload), "spec"), "containers").Cast<Dictionary<string, object?>>();
    private static string? Env(Dictionary<string, object?> container, string name) =>
        List(container, "env").Cast<Dictionary<string, object?>>().Where(e => Text(e, "name") == name).Select(e => Text(e, "value")).SingleOrDefault();
    private static int Port(Dictionary<string, object?> container, string name) =>
        int.Parse(List(container, "ports").Cast<Dictionary<string, object?>>().Single(p => Text(p, "name") == name)["containerPort"] as string ?? "");

    private static bool Selects(string selector, Dictionary<string, object?> labels) =>
        selector.Split(',').Select(t => t.Split('=')).All(kv => labels.TryGetValue(kv[0].Trim(), out var v) && (string?)v == kv[1].Trim());

    private static Dictionary<string, object?> Server => Kind("Job", "dbp-parameter-server");
    private static Dictionary<string, object?> Workers => Kind("Job", "dbp-worker");

    [Fact]
    public void Every_workload_selects_its_own_pods()
    {
        Assert.Equal(2, Workloads.Count());
        foreach (var w in Workloads)
            if (Map(w, "spec").TryGetValue("selector", out var s) && s is Dictionary<string, object?> selector)
                Assert.All(Map(selector, "matchLabels"), kv => Assert.Equal(kv.Value, Labels(w)[kv.Key]));
    }

    [Fact]
    public void Pods_run_as_a_service_account_that_is_bound_to_a_role_that_only_reads_pods()
    {
        foreach (var w in Workloads)
        {
            var account = Text(Map(Pod(w), "spec"), "serviceAccountName");
            Assert.NotNull(account);
            Kind("ServiceAccount", account);
            var binding = Resources.Where(d => Text(d, "kind") == "RoleBinding").Single(b =>
                List(b, "subjects").Cast<Dictionary<string, object?>>().Any(s => Text(s, "kind") == "ServiceAccount" && Text(s, "name") == account));
            var roleRef = Map(binding, "roleRef");
            Assert.Equal("Role", Text(roleRef, "kind")); // a namespaced Role, not a ClusterRole
            var role = Kind("Role", Text(roleRef, "name")!);
            var rule = Assert.Single(List(role, "rules"));
            Assert.Equal([""], List(rule, "apiGroups"));
            Assert.Equal(["pods"], List(rule, "resources"));
            Assert.Subset(new HashSet<object?> { "get", "list", "watch" }, List(rule, "verbs").ToHashSet());
        }
    }

    [Fact]
    public void The_certificate_and_its_password_come_from_the_generated_secret_mounted_read_only()
    {
        var secret = (Dictionary<string, object?>)Assert.Single(List(Kustomization, "secretGenerator"))!;
        var keys = List(secret, "files").Cast<string>().ToHashSet();
        foreach (var w in Workloads)
        {
            var volume = List(Map(Pod(w), "spec"), "volumes").Cast<Dictionary<string, object?>>().Single(v => v.ContainsKey("secret"));
            Assert.Equal(Text(secret, "name"), Text(Map(volume, "secret"), "secretName"));
            foreach (var c in Containers(w))
            {
                var mount = List(c, "volumeMounts").Cast<Dictionary<string, object?>>().Single(m => Text(m, "name") == Text(volume, "name"));
                Assert.Equal("true", Text(mount, "readOnly"));
                foreach (var variable in new[] { "DBP_TLS_CERT", "DBP_TLS_PASSWORD_FILE" })
                {
                    var path = Env(c, variable);
                    Assert.NotNull(path);
                    Assert.Equal(Text(mount, "mountPath"), Path.GetDirectoryName(path));
                    Assert.Contains(Path.GetFileName(path), keys);
                }
            }
        }
    }

    [Fact]
    public void Probes_ask_the_management_port_that_dbp_node_is_told_to_serve()
    {
        foreach (var c in Workloads.SelectMany(Containers))
        {
            Assert.Equal(Port(c, "management").ToString(), Env(c, "DBP_MANAGEMENT_PORT"));
            Assert.Equal(("/alive", "management"), (Text(Map(c, "livenessProbe")["httpGet"], "path"), Text(Map(c, "livenessProbe")["httpGet"], "port")));
            Assert.Equal(("/ready", "management"), (Text(Map(c, "readinessProbe")["httpGet"], "path"), Text(Map(c, "readinessProbe")["httpGet"], "port")));
            Assert.Equal(Port(c, "akka").ToString(), ((List<object?>)c["args"]!)[((List<object?>)c["args"]!).IndexOf("--port") + 1]);
            Assert.Equal("status.podIP", Text(Map(List(c, "env").Cast<Dictionary<string, object?>>().Single(e => Text(e, "name") == "DBP_HOSTNAME"), "valueFrom")["fieldRef"], "fieldPath"));
        }
    }

    [Fact]
    public void Discovery_finds_the_parameter_servers_and_only_them_and_waits_for_all_of_them()
    {
        foreach (var c in Workloads.SelectMany(Containers))
        {
            Assert.Equal("kubernetes", Env(c, "DBP_DISCOVERY"));
            var selector = Env(c, "DBP_DISCOVERY_SELECTOR") ?? BootstrapSettings.DefaultPodLabelSelector;
            Assert.Null(BootstrapSettings.SelectorError(selector));
            Assert.True(Selects(selector, Labels(Server)), $"{selector} does not select the parameter servers");
            Assert.False(Selects(selector, Labels(Workers)), $"{selector} selects the workers too");
            Assert.Equal(Text(Map(Server, "spec"), "parallelism"), Env(c, "DBP_CONTACT_POINTS"));
            Assert.Equal(Port(c, "management").ToString(), Env(c, "DBP_MANAGEMENT_PORT"));
        }
        Assert.Equal("2", Text(Map(Server, "spec"), "completions")); // an active server and a standby
    }

    [Fact]
    public void Runs_end_the_server_waits_for_every_worker_and_finished_jobs_are_cleaned_up()
    {
        var args = (List<object?>)Containers(Server).Single()["args"]!;
        Assert.Equal(Text(Map(Workers, "spec"), "completions"), args[args.IndexOf("--min-workers") + 1]);
        Assert.Equal(Text(Map(Workers, "spec"), "completions"), Text(Map(Workers, "spec"), "parallelism"));
        Assert.Equal("parameter-server", args[args.IndexOf("--role") + 1]);
        var workerArgs = (List<object?>)Containers(Workers).Single()["args"]!;
        Assert.Equal("worker", workerArgs[workerArgs.IndexOf("--role") + 1]);
        foreach (var w in Workloads)
        {
            Assert.Equal("Job", Text(w, "kind"));
            Assert.NotNull(Text(Map(w, "spec"), "ttlSecondsAfterFinished"));
            Assert.NotNull(Text(Map(w, "spec"), "activeDeadlineSeconds"));
        }
    }

    [Fact]
    public void Every_container_runs_the_kustomized_image_as_a_non_root_user_with_limits()
    {
        var image = Text(Assert.Single(List(Kustomization, "images")), "name");
        foreach (var w in Workloads)
        {
            var security = Map(Map(Pod(w), "spec"), "securityContext");
            Assert.Equal("true", Text(security, "runAsNonRoot"));
            Assert.NotEqual("0", Text(security, "runAsUser"));
            foreach (var c in Containers(w))
            {
                Assert.Equal(image, Text(c, "image"));
                Assert.Equal("false", Text(Map(c, "securityContext"), "allowPrivilegeEscalation"));
                foreach (var side in new[] { "requests", "limits" })
                    Assert.True(Map(Map(c, "resources"), side).ContainsKey("cpu") && Map(Map(c, "resources"), side).ContainsKey("memory"), $"{Name(w)}: resources.{side}");
            }
        }
    }

    [Fact]
    public void In_compose_two_servers_advertise_the_names_every_node_seeds_from_and_workers_wait_for_a_healthy_server()
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Root(), "deploy", "docker", "compose.yaml"))) stream.Load(reader);
        var services = Map(Plain(stream.Documents.Single().RootNode), "services");
        static string After(List<object?> args, string flag) => (string)args[args.IndexOf(flag) + 1]!;
        var servers = services.Where(s => After((List<object?>)((Dictionary<string, object?>)s.Value!)["command"]!, "--role") == "parameter-server").ToList();
        Assert.Equal(2, servers.Count);
        var seeds = services.Values.Select(s => After((List<object?>)((Dictionary<string, object?>)s!)["command"]!, "--seed-nodes")).Distinct().Single();
        var advertised = servers.Select(s => $"akka.ssl.tcp://dbp@{After((List<object?>)((Dictionary<string, object?>)s.Value!)["command"]!, "--hostname")}:4053");
        Assert.Equal(seeds.Split(','), advertised);
        foreach (var (name, s) in servers) Assert.Equal(name, Text(s, "hostname"));
        var worker = (Dictionary<string, object?>)services["worker"]!;
        Assert.Equal("service_healthy", Text(Map(Map(worker, "depends_on"), servers[0].Key), "condition"));
        // The image's health check asks the port dbp node serves the probes on.
        var dockerfile = File.ReadAllText(Path.Combine(Root(), "deploy", "docker", "Dockerfile"));
        Assert.Contains("ENV DBP_MANAGEMENT_PORT=8558", dockerfile);
        Assert.Contains("HEALTHCHECK", dockerfile);
        Assert.Contains("-r linux-x64", dockerfile);
    }

    private static string? Kubectl() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "kubectl")).FirstOrDefault(File.Exists);

    [KubectlFact]
    public void Kubectl_kustomize_renders_the_directory()
    {
        // The Secret's files are made by hand and never committed: stand-ins in a copy of the directory.
        var copy = Directory.CreateTempSubdirectory("dbp-k8s-").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(K8s, "*.yaml")) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
            File.WriteAllText(Path.Combine(copy, "cluster.pfx"), "stand-in");
            File.WriteAllText(Path.Combine(copy, "cluster.pfx.password"), "stand-in");
            var start = new ProcessStartInfo(Kubectl()!, ["kustomize", copy]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(start)!;
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(60_000)) { p.Kill(); Assert.Fail("kubectl kustomize did not finish in a minute"); }
            Assert.True(p.ExitCode == 0, error.Result);
            foreach (var kind in new[] { "ServiceAccount", "Role", "RoleBinding", "Secret", "Job" }) Assert.Contains($"kind: {kind}\n", output.Result);
            Assert.Contains("image: dbp:latest", output.Result);
        }
        finally { Directory.Delete(copy, recursive: true); }
    }

    /// <summary>A fact that is skipped, with the reason in the test output, where kubectl is not installed.</summary>
    public sealed class KubectlFactAttribute : FactAttribute
    {
        public KubectlFactAttribute()
        {
            if (Kubectl() is null) Skip = "kubectl is not installed here (not a Debian package): the manifests were checked as YAML only, not rendered by kustomize";
        }
    }
}
