package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Images pushed through /v2/ show up in the ECR API and the other way round.
func TestECRImagesOneTruth(t *testing.T) {
	e := startRegistry(t)
	ctx := context.Background()
	e.createRepo(t, "shop")
	img, _ := random.Image(2048, 2)
	if err := remote.Write(e.ref(t, "shop:v1"), img, e.opts()...); err != nil {
		t.Fatal(err)
	}
	untagged, _ := random.Image(512, 1)
	ud, _ := untagged.Digest()
	if err := remote.Write(e.ref(t, "shop@"+ud.String()), untagged, e.opts()...); err != nil {
		t.Fatal(err)
	}
	dg, _ := img.Digest()
	repo := aws.String("shop")

	li, err := e.ecr.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: repo})
	if err != nil || len(li.ImageIds) != 2 {
		t.Fatalf("ListImages %+v %v", li, err)
	}
	li, _ = e.ecr.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: repo, Filter: &ecrtypes.ListImagesFilter{TagStatus: ecrtypes.TagStatusTagged}})
	if len(li.ImageIds) != 1 || aws.ToString(li.ImageIds[0].ImageTag) != "v1" || aws.ToString(li.ImageIds[0].ImageDigest) != dg.String() {
		t.Fatalf("tagged images %+v", li.ImageIds)
	}
	li, _ = e.ecr.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: repo, Filter: &ecrtypes.ListImagesFilter{TagStatus: ecrtypes.TagStatusUntagged}})
	if len(li.ImageIds) != 1 || aws.ToString(li.ImageIds[0].ImageDigest) != ud.String() {
		t.Fatalf("untagged images %+v", li.ImageIds)
	}

	di, err := e.ecr.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil {
		t.Fatal(err)
	}
	d := di.ImageDetails[0]
	m, _ := img.Manifest()
	var want int64 = m.Config.Size
	for _, l := range m.Layers {
		want += l.Size
	}
	if aws.ToString(d.ImageDigest) != dg.String() || aws.ToInt64(d.ImageSizeInBytes) != want || d.ImagePushedAt == nil ||
		strings.Join(d.ImageTags, ",") != "v1" || aws.ToString(d.ImageManifestMediaType) == "" {
		t.Fatalf("detail %+v (want size %d)", d, want)
	}
	_, err = e.ecr.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("nope")}}})
	var inf *ecrtypes.ImageNotFoundException
	if !errors.As(err, &inf) {
		t.Fatalf("describe missing image: %v", err)
	}

	bg, err := e.ecr.BatchGetImage(ctx, &awsecr.BatchGetImageInput{RepositoryName: repo,
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("missing")}}})
	if err != nil || len(bg.Images) != 1 || len(bg.Failures) != 1 {
		t.Fatalf("BatchGetImage %+v %v", bg, err)
	}
	raw, _ := img.RawManifest()
	if aws.ToString(bg.Images[0].ImageManifest) != string(raw) {
		t.Fatal("BatchGetImage manifest differs from the pushed bytes")
	}
	bg, _ = e.ecr.BatchGetImage(ctx, &awsecr.BatchGetImageInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}},
		AcceptedMediaTypes: []string{"application/vnd.oci.image.manifest.v1+json"}})
	if len(bg.Failures) != 1 || string(bg.Failures[0].FailureCode) != "UnsupportedImageType" {
		t.Fatalf("acceptedMediaTypes: %+v", bg.Failures)
	}

	ld := m.Layers[0].Digest.String()
	bc, err := e.ecr.BatchCheckLayerAvailability(ctx, &awsecr.BatchCheckLayerAvailabilityInput{RepositoryName: repo,
		LayerDigests: []string{ld, sha256Digest([]byte("absent"))}})
	if err != nil || len(bc.Layers) != 1 || len(bc.Failures) != 1 || aws.ToInt64(bc.Layers[0].LayerSize) != m.Layers[0].Size {
		t.Fatalf("BatchCheckLayerAvailability %+v %v", bc, err)
	}
	du, err := e.ecr.GetDownloadUrlForLayer(ctx, &awsecr.GetDownloadUrlForLayerInput{RepositoryName: repo, LayerDigest: aws.String(ld)})
	if err != nil || !strings.HasSuffix(aws.ToString(du.DownloadUrl), "/v2/shop/blobs/"+ld) {
		t.Fatalf("GetDownloadUrlForLayer %+v %v", du, err)
	}

	// PutImage retags; the registry sees it.
	pi, err := e.ecr.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: repo, ImageManifest: aws.String(string(raw)), ImageTag: aws.String("stable")})
	if err != nil || aws.ToString(pi.Image.ImageId.ImageDigest) != dg.String() {
		t.Fatalf("PutImage %+v %v", pi, err)
	}
	_, err = e.ecr.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: repo, ImageManifest: aws.String(string(raw)), ImageTag: aws.String("stable")})
	var ae *ecrtypes.ImageAlreadyExistsException
	if !errors.As(err, &ae) {
		t.Fatalf("PutImage of what the tag already names: %v", err)
	}
	desc, err := remote.Head(e.ref(t, "shop:stable"), e.opts()...)
	if err != nil || desc.Digest != dg {
		t.Fatalf("HEAD shop:stable %+v %v", desc, err)
	}
	_, err = e.ecr.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: repo, ImageManifest: aws.String(string(raw)),
		ImageDigest: aws.String(ud.String())})
	var dm *ecrtypes.ImageDigestDoesNotMatchException
	if !errors.As(err, &dm) {
		t.Fatalf("PutImage wrong digest: %v", err)
	}

	// Immutability through the ECR API and through /v2/.
	if _, err := e.ecr.PutImageTagMutability(ctx, &awsecr.PutImageTagMutabilityInput{RepositoryName: repo, ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable}); err != nil {
		t.Fatal(err)
	}
	uraw, _ := untagged.RawManifest()
	_, err = e.ecr.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: repo, ImageManifest: aws.String(string(uraw)), ImageTag: aws.String("v1")})
	var exists *ecrtypes.ImageTagAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("PutImage moving an immutable tag: %v", err)
	}
	if err := remote.Write(e.ref(t, "shop:v1"), untagged, e.opts()...); err == nil || !strings.Contains(err.Error(), "TAG_INVALID") {
		t.Fatalf("push moving an immutable tag: %v", err)
	}

	// BatchDeleteImage: a tag (the image keeps its other tag), then a digest.
	bd, err := e.ecr.BatchDeleteImage(ctx, &awsecr.BatchDeleteImageInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{
		{ImageTag: aws.String("stable")}, {ImageDigest: aws.String(ud.String())}, {ImageTag: aws.String("ghost")}}})
	if err != nil || len(bd.ImageIds) != 2 || len(bd.Failures) != 1 {
		t.Fatalf("BatchDeleteImage %+v %v", bd, err)
	}
	li, _ = e.ecr.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: repo})
	if len(li.ImageIds) != 1 || aws.ToString(li.ImageIds[0].ImageTag) != "v1" {
		t.Fatalf("after delete %+v", li.ImageIds)
	}
	if _, err := remote.Head(e.ref(t, "shop@"+ud.String()), e.opts()...); err == nil {
		t.Fatal("deleted image still served")
	}

	dr, err := e.ecr.DescribeRegistry(ctx, &awsecr.DescribeRegistryInput{})
	if err != nil || aws.ToString(dr.RegistryId) != e.Info.Account {
		t.Fatalf("DescribeRegistry %+v %v", dr, err)
	}
	_, err = e.ecr.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: aws.String("nope")})
	var rnf *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("ListImages of a missing repository: %v", err)
	}
}

// The ECR layer-upload API writes the same blobs /v2/ serves.
func TestECRLayerUploadAndTags(t *testing.T) {
	e := startRegistry(t)
	ctx := context.Background()
	out, err := e.ecr.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("layers"),
		Tags: []ecrtypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	repo := aws.String("layers")
	data := randBytes(t, 300_000)
	up, err := e.ecr.InitiateLayerUpload(ctx, &awsecr.InitiateLayerUploadInput{RepositoryName: repo})
	if err != nil {
		t.Fatal(err)
	}
	part := func(a, b int) error {
		_, err := e.ecr.UploadLayerPart(ctx, &awsecr.UploadLayerPartInput{RepositoryName: repo, UploadId: up.UploadId,
			PartFirstByte: aws.Int64(int64(a)), PartLastByte: aws.Int64(int64(b - 1)), LayerPartBlob: data[a:b]})
		return err
	}
	if err := part(0, 100_000); err != nil {
		t.Fatal(err)
	}
	var lp *ecrtypes.InvalidLayerPartException
	if err := part(200_000, 300_000); !errors.As(err, &lp) {
		t.Fatalf("out-of-order part: %v", err)
	}
	if err := part(100_000, 300_000); err != nil {
		t.Fatal(err)
	}
	var il *ecrtypes.InvalidLayerException
	if _, err := e.ecr.CompleteLayerUpload(ctx, &awsecr.CompleteLayerUploadInput{RepositoryName: repo, UploadId: up.UploadId,
		LayerDigests: []string{sha256Digest([]byte("wrong"))}}); !errors.As(err, &il) {
		t.Fatalf("wrong digest: %v", err)
	}
	d := sha256Digest(data)
	if _, err := e.ecr.CompleteLayerUpload(ctx, &awsecr.CompleteLayerUploadInput{RepositoryName: repo, UploadId: up.UploadId, LayerDigests: []string{d}}); err != nil {
		t.Fatal(err)
	}
	if got := wantStatus(t, e.do(t, "GET", "/v2/layers/blobs/"+d, nil), 200); string(got) != string(data) {
		t.Fatal("blob differs")
	}
	var nf *ecrtypes.UploadNotFoundException
	if _, err := e.ecr.CompleteLayerUpload(ctx, &awsecr.CompleteLayerUploadInput{RepositoryName: repo, UploadId: up.UploadId, LayerDigests: []string{d}}); !errors.As(err, &nf) {
		t.Fatalf("completed upload again: %v", err)
	}

	arnS := out.Repository.RepositoryArn
	if _, err := e.ecr.TagResource(ctx, &awsecr.TagResourceInput{ResourceArn: arnS, Tags: []ecrtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ecr.UntagResource(ctx, &awsecr.UntagResourceInput{ResourceArn: arnS, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	lt, err := e.ecr.ListTagsForResource(ctx, &awsecr.ListTagsForResourceInput{ResourceArn: arnS})
	if err != nil || len(lt.Tags) != 1 || aws.ToString(lt.Tags[0].Key) != "env" {
		t.Fatalf("ListTagsForResource %+v %v", lt, err)
	}
}

// A repository policy grants an IAM user pulls its identity policies do not.
func TestECRRepositoryPolicy(t *testing.T) {
	e := startRegistry(t)
	ctx := context.Background()
	e.createRepo(t, "shared")
	iamc := awsiam.NewFromConfig(e.Root())
	u, err := iamc.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("reader")})
	if err != nil {
		t.Fatal(err)
	}
	tokenOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`
	iamc.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("reader"), PolicyName: aws.String("t"), PolicyDocument: aws.String(tokenOnly)})
	k, _ := iamc.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("reader")})
	reader := &regEnv{Env: e.Env, host: e.host}
	reader.password = ecrPassword(t, awsecr.NewFromConfig(e.Config(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")))
	wantError(t, reader.do(t, "GET", "/v2/shared/tags/list", nil), 403, "DENIED")

	pol := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":{"AWS":"%s"},"Action":["ecr:ListImages","ecr:BatchGetImage"]}]}`, *u.User.Arn)
	if _, err := e.ecr.SetRepositoryPolicy(ctx, &awsecr.SetRepositoryPolicyInput{RepositoryName: aws.String("shared"), PolicyText: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	got, err := e.ecr.GetRepositoryPolicy(ctx, &awsecr.GetRepositoryPolicyInput{RepositoryName: aws.String("shared")})
	if err != nil || aws.ToString(got.PolicyText) != pol {
		t.Fatalf("GetRepositoryPolicy %+v %v", got, err)
	}
	wantStatus(t, reader.do(t, "GET", "/v2/shared/tags/list", nil), 200)
	wantError(t, reader.do(t, "POST", "/v2/shared/blobs/uploads/", nil), 403, "DENIED")

	if _, err := e.ecr.DeleteRepositoryPolicy(ctx, &awsecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	wantError(t, reader.do(t, "GET", "/v2/shared/tags/list", nil), 403, "DENIED")
	_, err = e.ecr.GetRepositoryPolicy(ctx, &awsecr.GetRepositoryPolicyInput{RepositoryName: aws.String("shared")})
	var nf *ecrtypes.RepositoryPolicyNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("GetRepositoryPolicy after delete: %v", err)
	}
	_, err = e.ecr.SetRepositoryPolicy(ctx, &awsecr.SetRepositoryPolicyInput{RepositoryName: aws.String("shared"), PolicyText: aws.String(`{"Statement":[`)})
	var ip *ecrtypes.InvalidParameterException
	if !errors.As(err, &ip) {
		t.Fatalf("malformed policy: %v", err)
	}
}
