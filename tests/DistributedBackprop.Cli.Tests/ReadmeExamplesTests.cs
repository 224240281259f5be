using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace DistributedBackprop.Cli.Tests;

/// <summary>
/// Every C# block in the README, compiled as a program of its own against the project's assemblies and run:
/// it must compile, and each <c>Console.WriteLine(...); // X</c> must print X, in order.
/// </summary>
public partial class ReadmeExamplesTests
{
    private static string Readme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && Directory.Exists(Path.Combine(dir.FullName, "src")))
                return File.ReadAllText(Path.Combine(dir.FullName, "README.md"));
        throw new FileNotFoundException("README.md above the test's folder");
    }

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"Console\.WriteLine\(.*\);\s*//\s*(\S+)")]
    private static partial Regex PrintsLine();

    public static TheoryData<int> Blocks() => [.. Enumerable.Range(0, CSharpBlock().Matches(Readme()).Count)];

    [Fact]
    public void The_readme_has_csharp_examples() => Assert.True(CSharpBlock().Matches(Readme()).Count >= 2);

    [Theory]
    [MemberData(nameof(Blocks))]
    public void A_readme_example_compiles_runs_and_prints_what_it_says(int block)
    {
        var code = CSharpBlock().Matches(Readme())[block].Groups[1].Value;
        var expected = code.Split('\n').Select(l => PrintsLine().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(expected); // an example that prints nothing checks nothing

        var usings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Threading; global using System.Threading.Tasks;";
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(IsManaged).DistinctBy(Path.GetFileName).Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create($"readme{block}",
            [CSharpSyntaxTree.ParseText(usings), CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest))],
            references, new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));

        var entry = Assembly.Load(image.ToArray()).EntryPoint!;
        var printed = new StringWriter();
        var old = Console.Out;
        Console.SetOut(printed);
        try { entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]); }
        finally { Console.SetOut(old); }
        Assert.Equal(expected, printed.ToString().TrimEnd().Split('\n').Select(l => l.Trim()));
    }

    private static bool IsManaged(string path)
    {
        try { AssemblyName.GetAssemblyName(path); return true; }
        catch (BadImageFormatException) { return false; }
    }
}
