using DistributedBackprop.Data;

namespace DistributedBackprop.Data.Tests;

public class CsvTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-csv-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File_(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Columns_are_read_by_name_and_the_target_as_numbers_or_names()
    {
        var path = File_("a.csv", "b,y,a\n1.5,2,-3\n4,5e-1,\"6\"\n");
        var all = Csv.Read(path, null, "y", TargetColumn.Numbers);
        Assert.Equal(["b", "a"], all.Features);
        Assert.Equal([1.5, -3, 4, 6], all.Values);
        Assert.Equal([2, 0.5], all.TargetNumbers!);
        var picked = Csv.Read(path, ["a", "b"], "y", TargetColumn.Texts);
        Assert.Equal([-3, 1.5, 6, 4], picked.Values);
        Assert.Equal(["2", "5e-1"], picked.TargetTexts!);
    }

    [Theory]
    [InlineData("x,y\n1,2\n3,\n", "row 2 (line 3), column 'y': missing value")]
    [InlineData("x,y\n1,2\n3\n", "row 2 (line 3), column 'y': missing value")]
    [InlineData("x,y\n1,2\n\n3,abc\n", "row 2 (line 4), column 'y': 'abc' is not a number")]
    [InlineData("x,y\n1,2\n3,NaN\n", "row 2 (line 3), column 'y': 'NaN' is not a finite number")]
    [InlineData("x,y\n1,1e999\n", "row 1 (line 2), column 'y': '1e999' is not a finite number")]
    [InlineData("x,x\n1,2\n", "column 'x' appears twice in the header")]
    [InlineData("", "empty file")]
    [InlineData("x,y\n", "no data rows")]
    [InlineData("x,z\n1,2\n", "no column 'y' (the columns are 'x', 'z')")]
    public void A_bad_value_is_one_line_naming_file_row_line_and_column(string text, string expected)
    {
        var path = File_("bad.csv", text);
        var e = Assert.Throws<DataException>(() => Csv.Read(path, null, "y", TargetColumn.Numbers));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Large_files_are_read_whole_however_their_rows_grow()
    {
        // Short rows first, then long ones: the size guessed from the first rows is too small and grows.
        var rows = Enumerable.Range(0, 5000).Select(i => i < 2000 ? (double)i : i * 1e10 + 0.123456789).ToArray();
        var path = File_("big.csv", "a,b\n" + string.Concat(rows.Select(v => $"{v:R},{-v:R}\n")));
        var t = Csv.Read(path, null, null, TargetColumn.None);
        Assert.Equal(5000, t.Rows);
        Assert.Equal(rows.SelectMany(v => new[] { v, -v }), t.Values);
    }

    [Fact]
    public void A_missing_file_is_a_data_error() =>
        Assert.Contains("cannot read", Assert.Throws<DataException>(() => Csv.Read(Path.Combine(_dir, "none.csv"), null, "y", TargetColumn.Numbers)).Message);

    [Fact]
    public void Standardisation_uses_the_training_split_alone_and_is_numpys_population_std()
    {
        // Rows 0..9; x = row, constant c; y a class by parity.
        var text = "x,c,y\n" + string.Concat(Enumerable.Range(0, 10).Select(i => $"{i},7,{(i % 2 == 0 ? "even" : "odd")}\n"));
        var path = File_("t.csv", text);
        var data = Tabular.Load(path, "y", null, validation: 0.3, testPath: null, seed: 5);
        Assert.Equal(DataCard.Classification, data.Card.Task);
        Assert.Equal(["even", "odd"], data.Card.Classes!);
        Assert.Equal(7, data.Train.Count);
        Assert.Equal(3, data.Held!.Count);
        Assert.Equal("validation", data.HeldName);
        // Which rows went where: the training rows' x, back from the standardised inputs.
        var trainX = Enumerable.Range(0, 7).Select(i => data.Card.Mean[0] + data.Train.Inputs.Data[i * 2] * data.Card.Std[0]).Select(v => (int)Math.Round(v)).ToArray();
        var heldX = Enumerable.Range(0, 3).Select(i => data.Card.Mean[0] + data.Held.Inputs.Data[i * 2] * data.Card.Std[0]).Select(v => (int)Math.Round(v)).ToArray();
        Assert.Equal(Enumerable.Range(0, 10), trainX.Concat(heldX).Order());
        Assert.Equal(trainX.Order(), trainX); // both splits keep the file's order
        double mean = trainX.Average(), std = Math.Sqrt(trainX.Average(v => (v - mean) * (v - mean)));
        Assert.Equal(mean, data.Card.Mean[0], 12);
        Assert.Equal(std, data.Card.Std[0], 12);
        Assert.Equal(1, data.Card.Std[1]); // a constant column keeps its scale
        Assert.All(Enumerable.Range(0, 7), i => Assert.Equal(0f, data.Train.Inputs.Data[i * 2 + 1]));
        Assert.Equal(trainX.Select(v => v % 2), data.Train.Labels!);
        // The same seed, the same split; another seed, another.
        Assert.Equal(data.Card.Mean, Tabular.Load(path, "y", null, 0.3, null, 5).Card.Mean);
        Assert.NotEqual(data.Card.Mean[0], Tabular.Load(path, "y", null, 0.3, null, 6).Card.Mean[0]);
    }

    [Fact]
    public void The_task_follows_the_first_value_unless_it_is_given()
    {
        var path = File_("r.csv", "x,y\n1,10\n2,20\n3,30\n");
        var regression = Tabular.Load(path, "y", null, 0, null, 0);
        Assert.Equal(DataCard.Regression, regression.Card.Task);
        Assert.Equal([10f, 20f, 30f], regression.Train.Targets.Data.ToArray());
        var classes = Tabular.Load(path, "y", DataCard.Classification, 0, null, 0);
        Assert.Equal(["10", "20", "30"], classes.Card.Classes!);
        var numeric = File_("n.csv", "x,y\n1,10\n2,2\n3,1\n");
        Assert.Equal(["1", "2", "10"], Tabular.Load(numeric, "y", DataCard.Classification, 0, null, 0).Card.Classes!); // numerically, not "1", "10", "2"
    }

    [Fact]
    public void A_test_file_is_read_by_column_name_and_scaled_as_the_training_file()
    {
        var train = File_("train.csv", "a,b,y\n0,10,u\n2,30,v\n");
        var test = File_("test.csv", "y,extra,b,a\nv,hello,20,1\n");
        var data = Tabular.Load(train, "y", null, 0, test, 0);
        Assert.Equal("test", data.HeldName);
        Assert.Equal([0f, 0f], data.Held!.Inputs.Data.ToArray()); // the training means
        Assert.Equal([1], data.Held.Labels!);
        var unknown = File_("unknown.csv", "a,b,y\n1,1,w\n");
        Assert.Contains("class 'w' is not one the model knows (u, v)", Assert.Throws<DataException>(() => Tabular.Load(train, "y", null, 0, unknown, 0)).Message);
        var missing = File_("missing.csv", "a,y\n1,u\n");
        Assert.Contains("no column 'b', which the model reads", Assert.Throws<DataException>(() => Tabular.Load(train, "y", null, 0, missing, 0)).Message);
    }

    [Theory]
    [InlineData(0.95, "from 0 to 0.9")]
    [InlineData(0.1, "leaves no validation row")]
    public void Impossible_validation_shares_are_refused(double share, string expected)
    {
        var path = File_("v.csv", "x,y\n1,2\n3,4\n");
        Assert.Contains(expected, Assert.Throws<DataException>(() => Tabular.Load(path, "y", null, share, null, 0)).Message);
    }

    [Fact]
    public void One_class_is_not_a_classification()
    {
        var path = File_("one.csv", "x,y\n1,a\n2,a\n");
        Assert.Contains("has one class ('a')", Assert.Throws<DataException>(() => Tabular.Load(path, "y", null, 0, null, 0)).Message);
    }

    [Fact]
    public void The_card_survives_checkpoint_metadata_and_damaged_metadata_is_refused()
    {
        var card = new DataCard(DataCard.Classification, "kind", ["a", "b"], [0.1, -2.5e-17], [3, 1e10], ["x", "y,z"]);
        var back = DataCard.FromMeta(card.ToMeta(), "m")!;
        Assert.Equal(card.Features, back.Features);
        Assert.Equal(card.Mean, back.Mean);
        Assert.Equal(card.Std, back.Std);
        Assert.Equal(card.Classes, back.Classes);
        Assert.Null(DataCard.FromMeta(new Dictionary<string, string>(), "m"));
        var bad = card.ToMeta();
        bad["features"] = """{"names":["a"],"mean":[0],"std":[0]}""";
        Assert.Throws<DataException>(() => DataCard.FromMeta(bad, "m"));
        bad["features"] = "{";
        Assert.Throws<DataException>(() => DataCard.FromMeta(bad, "m"));
    }

    [Fact]
    public void Fashion_mnist_pixels_from_a_csv_are_the_floats_the_idx_loader_makes()
    {
        var raw = Enumerable.Range(0, 256).Select(v => (double)v).ToArray();
        var card = DataCard.FashionMnist with { Features = ["p"], Mean = [0], Std = [255] };
        Assert.Equal(Enumerable.Range(0, 256).Select(v => (byte)v / 255f), card.Standardize(raw));
    }
}
